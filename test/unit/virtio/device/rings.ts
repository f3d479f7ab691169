// Hand-built rings for device-side tests: descriptors, available ring and packed descriptors are
// written byte by byte per the spec layout (little-endian, §2.7.5, §2.7.6, §2.8.13), independent
// of the driver library, so a device bug cannot hide behind a matching driver bug.

import { DeviceMemory } from '../../../../harness/virtio/device/device-memory.ts';
import type { DeviceQueueConfig } from '../../../../harness/virtio/device/queue.ts';
import { VIRTQ_DESC_F_AVAIL_USED, packedAvailFlags } from '../../../../harness/virtio/layout.ts';
import { GuestMemory, sharedMemory } from '../../../../harness/virtio/memory.ts';

export const GPA = 0x4000_0000;
export const MEM_SIZE = 1 << 20;
/** Where test buffers start (after the ring areas). */
export const BUF = GPA + 0x10000;

export class Ram {
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  readonly dm: DeviceMemory;

  constructor(readonly gm: GuestMemory = sharedMemory(MEM_SIZE)) {
    this.bytes = gm.regions[0].bytes;
    this.dv = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length);
    this.dm = new DeviceMemory(gm);
  }

  off(gpa: number): number {
    return gpa - Number(this.gm.regions[0].gpa);
  }

  write(gpa: number, data: Uint8Array): void {
    this.bytes.set(data, this.off(gpa));
  }

  read(gpa: number, len: number): Uint8Array {
    return this.bytes.slice(this.off(gpa), this.off(gpa) + len);
  }

  fill(gpa: number, len: number, v: number): void {
    this.bytes.fill(v, this.off(gpa), this.off(gpa) + len);
  }

  /** A 16-byte descriptor at gpa (split layout: addr, len, flags, next; packed: addr, len, id, flags). */
  rawDesc(gpa: number, addr: bigint | number, len: number, w16a: number, w16b: number): void {
    const o = this.off(gpa);
    this.dv.setBigUint64(o, BigInt(addr), true);
    this.dv.setUint32(o + 8, len >>> 0, true);
    this.dv.setUint16(o + 12, w16a, true);
    this.dv.setUint16(o + 14, w16b, true);
  }

  snapshot(): Uint8Array {
    return this.bytes.slice();
  }
}

export function pattern(len: number, seed = 1): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

/** A split ring of `size` entries: descriptor table, avail ring, used ring in test memory. */
export class SplitRing {
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
  private availIdx = 0;
  private base = 0;

  constructor(
    readonly ram: Ram,
    readonly size: number,
    at = GPA,
  ) {
    this.desc = at;
    this.avail = at + 0x4000;
    this.used = at + 0x8000;
  }

  get cfg(): DeviceQueueConfig {
    return { size: this.size, desc: this.desc, driver: this.avail, device: this.used, base: this.base };
  }

  /** Start both indices at `idx` (vhost-user SET_VRING_BASE + a driver that pre-set used.idx). */
  startAt(idx: number): this {
    this.base = idx;
    this.availIdx = idx;
    this.setAvailIdx(idx);
    this.ram.dv.setUint16(this.ram.off(this.used + 2), idx, true);
    return this;
  }

  setDesc(i: number, addr: bigint | number, len: number, flags: number, next = 0): void {
    this.ram.rawDesc(this.desc + 16 * i, addr, len, flags, next);
  }

  /** Put head into the next avail ring slot and publish avail.idx. */
  offer(...heads: number[]): void {
    for (const h of heads) {
      this.ram.dv.setUint16(this.ram.off(this.avail + 4 + 2 * (this.availIdx % this.size)), h, true);
      this.availIdx = (this.availIdx + 1) & 0xffff;
    }
    this.setAvailIdx(this.availIdx);
  }

  setAvailIdx(v: number): void {
    this.ram.dv.setUint16(this.ram.off(this.avail + 2), v, true);
  }

  setRingEntry(slot: number, head: number): void {
    this.ram.dv.setUint16(this.ram.off(this.avail + 4 + 2 * slot), head, true);
  }

  setAvailFlags(v: number): void {
    this.ram.dv.setUint16(this.ram.off(this.avail), v, true);
  }

  setUsedEvent(v: number): void {
    this.ram.dv.setUint16(this.ram.off(this.avail + 4 + 2 * this.size), v, true);
  }

  usedIdx(): number {
    return this.ram.dv.getUint16(this.ram.off(this.used + 2), true);
  }

  usedFlags(): number {
    return this.ram.dv.getUint16(this.ram.off(this.used), true);
  }

  availEvent(): number {
    return this.ram.dv.getUint16(this.ram.off(this.used + 4 + 8 * this.size), true);
  }

  usedElem(slot: number): { id: number; len: number } {
    const o = this.ram.off(this.used + 4 + 8 * slot);
    return { id: this.ram.dv.getUint32(o, true), len: this.ram.dv.getUint32(o + 4, true) };
  }
}

/** A packed ring: descriptor ring, driver event suppression, device event suppression. */
export class PackedRing {
  readonly desc: number;
  readonly driverEvent: number;
  readonly deviceEvent: number;
  /** Driver's next position and wrap counter (§2.8.1: starts at 1). */
  pos = 0;
  wrap = 1;

  constructor(
    readonly ram: Ram,
    readonly size: number,
    at = GPA,
  ) {
    this.desc = at;
    this.driverEvent = at + 0x8000;
    this.deviceEvent = at + 0x8010;
  }

  get cfg(): DeviceQueueConfig {
    return { size: this.size, desc: this.desc, driver: this.driverEvent, device: this.deviceEvent };
  }

  availFlags(wrap = this.wrap): number {
    return packedAvailFlags(wrap);
  }

  /** Write one descriptor at a slot with explicit flags (no AVAIL/USED bits added). */
  setDesc(slot: number, addr: bigint | number, len: number, id: number, flags: number): void {
    this.ram.rawDesc(this.desc + 16 * slot, addr, len, id, flags);
  }

  /**
   * Make a list available at the driver position: elements in order, NEXT on all but the last,
   * Buffer ID on the last, the first descriptor's flags written last (§2.8.6). Returns the start slot.
   */
  offer(elems: { addr: number | bigint; len: number; flags?: number }[], id: number): number {
    const start = this.pos;
    const startWrap = this.wrap;
    let firstFlags = 0;
    elems.forEach((e, k) => {
      const flags = (e.flags ?? 0) | (k < elems.length - 1 ? 1 : 0) | this.availFlags();
      this.setDesc(this.pos, e.addr, e.len, k === elems.length - 1 ? id : 0, k === 0 ? 0 : flags);
      if (k === 0) firstFlags = flags;
      if (++this.pos === this.size) {
        this.pos = 0;
        this.wrap ^= 1;
      }
    });
    // The first descriptor's flags last; if it sits in the old lap keep that lap's wrap bits.
    const f0 = (firstFlags & ~VIRTQ_DESC_F_AVAIL_USED) | this.availFlags(startWrap);
    this.ram.dv.setUint16(this.ram.off(this.desc + 16 * start + 14), f0, true);
    return start;
  }

  read(slot: number): { addr: bigint; len: number; id: number; flags: number } {
    const o = this.ram.off(this.desc + 16 * slot);
    const dv = this.ram.dv;
    return { addr: dv.getBigUint64(o, true), len: dv.getUint32(o + 8, true), id: dv.getUint16(o + 12, true), flags: dv.getUint16(o + 14, true) };
  }

  setDriverEvent(offWrap: number, flags: number): void {
    this.ram.dv.setUint16(this.ram.off(this.driverEvent), offWrap, true);
    this.ram.dv.setUint16(this.ram.off(this.driverEvent + 2), flags, true);
  }

  readDeviceEvent(): { offWrap: number; flags: number } {
    return {
      offWrap: this.ram.dv.getUint16(this.ram.off(this.deviceEvent), true),
      flags: this.ram.dv.getUint16(this.ram.off(this.deviceEvent + 2), true),
    };
  }
}
