// Operation tags: what an engine completion belongs to. kind (bits 24-30) | generation (16-23) |
// slot (0-15). The generation lets a Worker ignore completions of a wait it abandoned (a kick fd
// that was replaced, a queue that was restarted).

export const KIND = {
  CTRL: 1,
  KICK_RX: 2,
  KICK_TX: 3,
  READ: 4,
  WRITE: 5,
  TAP_READY: 6,
} as const;

export function tag(kind: number, gen: number, slot = 0): number {
  return (kind << 24) | ((gen & 0xff) << 16) | (slot & 0xffff);
}

export const kindOf = (t: number) => (t >>> 24) & 0x7f;
export const genOf = (t: number) => (t >>> 16) & 0xff;
export const slotOf = (t: number) => t & 0xffff;
