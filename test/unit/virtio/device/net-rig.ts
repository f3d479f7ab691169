// A reference virtio-net device wired to hand-built rings: RX queue 0 at GPA, TX queue 1 at
// GPA + 1 MiB, brought up with the status sequence of §3.1.1. Test helper, not a test.

import { ReferenceNetDevice, type ReferenceNetOptions } from '../../../../harness/virtio/device/reference-net.ts';
import { F, featureSet, has } from '../../../../harness/virtio/features.ts';
import { VIRTIO_STATUS, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../../../harness/virtio/layout.ts';
import { sharedMemory } from '../../../../harness/virtio/memory.ts';
import type { NetHdr } from '../../../../harness/virtio/net-header.ts';
import { GPA, PackedRing, Ram, SplitRing } from './rings.ts';

export const TX_AT = GPA + 0x100000;
export const RX_BUF = GPA + 0x10000;
export const TX_BUF = TX_AT + 0x10000;

export class NetRig {
  readonly ram = new Ram(sharedMemory(0x200000));
  readonly sent: { frame: Uint8Array; hdr: NetHdr }[] = [];
  readonly packed: boolean;
  readonly rx: SplitRing | PackedRing;
  readonly tx: SplitRing | PackedRing;
  readonly dev: ReferenceNetDevice;

  constructor(
    readonly features: bigint,
    make: (o: ReferenceNetOptions) => ReferenceNetDevice = (o) => new ReferenceNetDevice(o),
    size = 8,
  ) {
    this.dev = make({ onTx: (frame, hdr) => this.sent.push({ frame, hdr }) });
    this.dev.setMemory(this.ram.gm);
    this.packed = has(features, F.F_RING_PACKED);
    const Ring = this.packed ? PackedRing : SplitRing;
    this.rx = new Ring(this.ram, size, GPA);
    this.tx = new Ring(this.ram, size, TX_AT);
    this.dev.setQueue(0, this.rx.cfg);
    this.dev.setQueue(1, this.tx.cfg);
  }

  get rxSplit(): SplitRing {
    return this.rx as SplitRing;
  }

  get txSplit(): SplitRing {
    return this.tx as SplitRing;
  }

  /** ACKNOWLEDGE, DRIVER, features, FEATURES_OK, DRIVER_OK; returns the status read back. */
  start(): number {
    const S = VIRTIO_STATUS;
    this.dev.setStatus(S.ACKNOWLEDGE);
    this.dev.setStatus(S.ACKNOWLEDGE | S.DRIVER);
    this.dev.setDriverFeatures(this.features);
    this.dev.setStatus(S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK);
    this.dev.setStatus(this.dev.status | S.DRIVER_OK);
    return this.dev.status;
  }

  /** TX buffer number k: 12-byte header then frame, two descriptors (split: k*2, k*2+1). Returns its GPA. */
  send(k: number, hdr: Uint8Array, frame: Uint8Array): number {
    const at = TX_BUF + k * 0x1000;
    this.ram.write(at, hdr);
    this.ram.write(at + 0x100, frame);
    if (this.packed) {
      (this.tx as PackedRing).offer([{ addr: at, len: hdr.length }, { addr: at + 0x100, len: frame.length }], k);
    } else {
      const r = this.tx as SplitRing;
      const d = (2 * k) % r.size;
      r.setDesc(d, at, hdr.length, VIRTQ_DESC_F_NEXT, d + 1);
      r.setDesc(d + 1, at + 0x100, frame.length, 0);
      r.offer(d);
    }
    return at;
  }

  /** Post RX buffer k of `len` writable bytes (split: descriptor k; packed: Buffer ID k). Returns its GPA. */
  post(k: number, len: number): number {
    const at = RX_BUF + k * 0x4000;
    if (this.packed) {
      (this.rx as PackedRing).offer([{ addr: at, len, flags: VIRTQ_DESC_F_WRITE }], k);
    } else {
      const r = this.rx as SplitRing;
      r.setDesc(k % r.size, at, len, VIRTQ_DESC_F_WRITE);
      r.offer(k % r.size);
    }
    return at;
  }

  /** Used entries of a ring in order: split from the used ring, packed from used descriptors. */
  used(ring: SplitRing | PackedRing, count: number, listLens: number[] = []): { id: number; len: number }[] {
    const out: { id: number; len: number }[] = [];
    if (ring instanceof SplitRing) {
      for (let k = 0; k < count; k++) out.push(ring.usedElem(k % ring.size));
      return out;
    }
    let pos = 0;
    for (let k = 0; k < count; k++) {
      const d = ring.read(pos);
      out.push({ id: d.id, len: d.len });
      pos = (pos + (listLens[k] ?? 1)) % ring.size;
    }
    return out;
  }
}

export const VERSION_1 = featureSet(F.F_VERSION_1);
