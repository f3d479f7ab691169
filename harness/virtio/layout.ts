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
