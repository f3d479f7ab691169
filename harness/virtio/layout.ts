// Ring layouts and flag values from the virtio spec (v1.2-cs01 §2.7 split, §2.8 packed).
// All ring fields are little-endian.

/** Split virtqueue descriptor flags (§2.7.5). */
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
/** Packed descriptor flags (§2.8.1). */
export const VIRTQ_DESC_F_AVAIL = 1 << 7;
export const VIRTQ_DESC_F_USED = 1 << 15;

/** avail.flags / used.flags (§2.7.7, §2.7.10). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
export const VIRTQ_USED_F_NO_NOTIFY = 1;

/** Packed event suppression flags (§2.8.10). */
export const RING_EVENT_FLAGS_ENABLE = 0;
export const RING_EVENT_FLAGS_DISABLE = 1;
export const RING_EVENT_FLAGS_DESC = 2;

export const DESC_SIZE = 16; // split: addr u64, len u32, flags u16, next u16; packed: addr, len, id u16, flags u16

/** Byte sizes of the split ring areas for a queue of `num` entries (§2.7). */
export function splitSizes(num: number, eventIdx: boolean) {
  return {
    desc: DESC_SIZE * num,
    // flags, idx, ring[num], used_event (only with EVENT_IDX, but always laid out)
    avail: 4 + 2 * num + (eventIdx ? 2 : 2),
    // flags, idx, ring[num] of {id u32, len u32}, avail_event
    used: 4 + 8 * num + 2,
  };
}

/** Alignment required by the spec for each split area (§2.7 table). */
export const SPLIT_ALIGN = { desc: 16, avail: 2, used: 4 } as const;

/** vring_need_event (§2.7.7.2 / Linux virtio_ring.h): notify iff new_idx passed event_idx since old. */
export function vringNeedEvent(eventIdx: number, newIdx: number, oldIdx: number): boolean {
  return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
}

export const VIRTIO_STATUS = {
  ACKNOWLEDGE: 1,
  DRIVER: 2,
  DRIVER_OK: 4,
  FEATURES_OK: 8,
  DEVICE_NEEDS_RESET: 64,
  FAILED: 128,
} as const;

// ---- Field offsets (bytes) used by the driver library and raw ring access (additive) ----

/** Split available ring: flags u16 @0, idx u16 @2, ring[num] u16 @4, used_event u16 after the ring (§2.7.6). */
export const AVAIL_FLAGS_OFF = 0;
export const AVAIL_IDX_OFF = 2;
export const AVAIL_RING_OFF = 4;
export function usedEventOffset(num: number): number {
  return 4 + 2 * num;
}
/** Split used ring: flags u16 @0, idx u16 @2, ring[num] of {id u32, len u32} @4, avail_event after (§2.7.8). */
export const USED_FLAGS_OFF = 0;
export const USED_IDX_OFF = 2;
export const USED_RING_OFF = 4;
export const USED_ELEM_SIZE = 8;
export function availEventOffset(num: number): number {
  return 4 + 8 * num;
}

/** Descriptor fields: addr u64 @0, len u32 @8; split flags @12 next @14; packed id @12 flags @14 (§2.7.5, §2.8.13). */
export const DESC_ADDR_OFF = 0;
export const DESC_LEN_OFF = 8;
export const SPLIT_DESC_FLAGS_OFF = 12;
export const SPLIT_DESC_NEXT_OFF = 14;
export const PACKED_DESC_ID_OFF = 12;
export const PACKED_DESC_FLAGS_OFF = 14;

/** Packed ring areas (§2.8.10.1): descriptor ring 16*num aligned 16; each event suppression struct 4 B aligned 4. */
export function packedSizes(num: number) {
  return { desc: DESC_SIZE * num, driver: 4, device: 4 };
}
export const PACKED_ALIGN = { desc: 16, driver: 4, device: 4 } as const;
/** Event suppression struct: desc (off_wrap) u16 @0, flags u16 @2; wrap counter in bit 15 of off_wrap (§2.8.14). */
export const EVENT_OFF_WRAP_OFF = 0;
export const EVENT_FLAGS_OFF = 2;
export const EVENT_WRAP_SHIFT = 15;

/** Largest queue for either format (§2.7: split ≤ 32768, power of 2; §2.8: packed ≤ 2^15). */
export const MAX_QUEUE_SIZE = 32768;

// ---- Packed ring flag helpers shared by the device, the driver and the conformance lanes (§2.8.1) ----

/** AVAIL and USED together: the pair a wrap counter sets or clears at once. */
export const VIRTQ_DESC_F_AVAIL_USED = VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED;

/** AVAIL/USED bits that make a descriptor available under driver wrap counter w (AVAIL = w, USED = !w). */
export function packedAvailFlags(wrap: number): number {
  return wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED;
}

/** AVAIL/USED bits of a used descriptor under device wrap counter w (AVAIL = USED = w). */
export function packedUsedFlags(wrap: number): number {
  return wrap ? VIRTQ_DESC_F_AVAIL_USED : 0;
}

/** Whether flags mark an available descriptor for wrap counter w (0 or 1): AVAIL = w and USED ≠ w. */
export function packedIsAvail(flags: number, wrap: number): boolean {
  return ((flags & VIRTQ_DESC_F_AVAIL) !== 0 ? 1 : 0) === wrap && ((flags & VIRTQ_DESC_F_USED) !== 0 ? 1 : 0) !== wrap;
}

/** Whether flags mark a used descriptor for wrap counter w (0 or 1): AVAIL = USED = w. */
export function packedIsUsed(flags: number, wrap: number): boolean {
  return ((flags >> 7) & 1) === wrap && ((flags >> 15) & 1) === wrap;
}

/** A ring position and wrap counter in one 16-bit word: event off_wrap, vhost-user base (§2.8.14). */
export function packedOffWrap(pos: number, wrap: number): number {
  return pos | (wrap << EVENT_WRAP_SHIFT);
}
