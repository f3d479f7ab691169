// A fixed workout for a reference virtio-net device: split and packed rings, with and without
// EVENT_IDX, IN_ORDER, MRG_RXBUF and INDIRECT; TX of plain and indirect chains, RX of small,
// large and mergeable frames, suppressed and enabled notifications. Its digest (all guest memory,
// every frame handed to the link, every counter) pins the device's behaviour byte for byte.
// Test helper, not a test.
import { createHash } from 'node:crypto';
import type { ReferenceNetDevice, ReferenceNetOptions } from '../../../../harness/virtio/device/reference-net.ts';
import { F, featureSet } from '../../../../harness/virtio/features.ts';
import { VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT } from '../../../../harness/virtio/layout.ts';
import { emptyNetHdr, encodeNetHdr } from '../../../../harness/virtio/net-header.ts';
import { NetRig, TX_BUF } from './net-rig.ts';
import { PackedRing, pattern } from './rings.ts';

type Make = (o: ReferenceNetOptions) => ReferenceNetDevice;

const V1 = F.F_VERSION_1;
export const SCENARIO_FEATURES: readonly bigint[] = [
  featureSet(V1),
  featureSet(V1, F.F_EVENT_IDX, F.F_INDIRECT_DESC),
  featureSet(V1, F.NET_F_MRG_RXBUF, F.F_IN_ORDER),
  featureSet(V1, F.NET_F_MRG_RXBUF, F.F_EVENT_IDX, F.F_INDIRECT_DESC),
  featureSet(V1, F.F_RING_PACKED),
  featureSet(V1, F.F_RING_PACKED, F.NET_F_MRG_RXBUF, F.F_EVENT_IDX, F.F_INDIRECT_DESC),
];

const HDR = (() => {
  const b = new Uint8Array(12);
  encodeNetHdr(emptyNetHdr(), b);
  return b;
})();

/** sha256 over guest memory, frames sent, counters and inject results after the workout. */
export function scenarioDigest(features: bigint, make: Make): string {
  const h = createHash('sha256');
  const r = new NetRig(features, make, 16);
  r.start();
  const packed = r.tx instanceof PackedRing;
  // TX: 5 plain chains in two kicks, then one indirect chain (WRITE clear on the pointer).
  for (let k = 0; k < 3; k++) r.send(k, HDR, pattern(60 + 40 * k, k));
  r.dev.kick(1);
  for (let k = 3; k < 5; k++) r.send(k, HDR, pattern(1400, k));
  r.dev.kick(1);
  if (features & (1n << BigInt(F.F_INDIRECT_DESC))) {
    const table = TX_BUF + 0x8000;
    r.ram.write(TX_BUF + 0x7000, HDR);
    r.ram.write(TX_BUF + 0x7100, pattern(90, 11));
    if (packed) {
      r.ram.rawDesc(table, TX_BUF + 0x7000, 12, 0, 0);
      r.ram.rawDesc(table + 16, TX_BUF + 0x7100, 90, 0, 0);
      (r.tx as PackedRing).offer([{ addr: table, len: 32, flags: VIRTQ_DESC_F_INDIRECT }], 9);
    } else {
      r.ram.rawDesc(table, TX_BUF + 0x7000, 12, VIRTQ_DESC_F_NEXT, 1);
      r.ram.rawDesc(table + 16, TX_BUF + 0x7100, 90, 0, 0);
      r.txSplit.setDesc(12, table, 32, VIRTQ_DESC_F_INDIRECT);
      r.txSplit.offer(12);
    }
    r.dev.kick(1);
  }
  // Suppressed notifications for one more chain.
  if (!packed) r.txSplit.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
  r.send(5, HDR, pattern(70, 6));
  r.dev.kick(1);
  // RX: 4 buffers of 1 KiB and one of 4 KiB; a small frame, a mergeable-sized one, one too big.
  for (let k = 0; k < 4; k++) r.post(k, 1024);
  r.post(4, 4096);
  const results = [pattern(100, 1), pattern(2500, 2), pattern(600, 3), pattern(5000, 4)].map((f) => r.dev.inject(f));
  h.update(JSON.stringify({ results, calls: r.dev.calls, kicks: r.dev.kicks, stats: r.dev.stats, status: r.dev.status }));
  for (const s of r.sent) h.update(JSON.stringify(s.hdr)).update(s.frame);
  h.update(r.ram.bytes);
  return h.digest('hex');
}
