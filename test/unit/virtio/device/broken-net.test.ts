// Each deliberately broken device has one fault, observable by the driver-side check of the
// requirement it breaks (S5 used len, N2 suppressed notifications, N1 due notifications, S1
// readable buffers untouched, S7 free-running used.idx, S6 each chain returned once, S8 nothing
// beyond avail.idx, I1 WRITE on an indirect pointer ignored, H2 num_buffers written); the
// reference device passes all of them. Consuming beyond avail.idx also returns an id that is not
// in flight, which S6 sees too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BROKEN_NET_DEVICES, type NetFault } from '../../../../harness/virtio/device/broken-net.ts';
import { ReferenceNetDevice, type ReferenceNetOptions } from '../../../../harness/virtio/device/reference-net.ts';
import { F, featureSet } from '../../../../harness/virtio/features.ts';
import { VIRTQ_AVAIL_F_NO_INTERRUPT, RING_EVENT_FLAGS_DISABLE, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../../../harness/virtio/layout.ts';
import { encodeNetHdr, emptyNetHdr } from '../../../../harness/virtio/net-header.ts';
import { PackedRing, SplitRing, pattern } from './rings.ts';
import { NetRig, RX_BUF, TX_BUF } from './net-rig.ts';

type Make = (o: ReferenceNetOptions) => ReferenceNetDevice;
type Kind = 'split' | 'packed';

const HDR = (() => {
  const b = new Uint8Array(12);
  encodeNetHdr(emptyNetHdr(), b);
  return b;
})();

function rig(kind: Kind, make: Make, extra: number[] = [], size = 8): NetRig {
  const r = new NetRig(kind === 'packed' ? featureSet(F.F_VERSION_1, F.F_RING_PACKED, ...extra) : featureSet(F.F_VERSION_1, ...extra), make, size);
  r.start();
  return r;
}

/** Each check returns undefined (pass) or the evidence of the failure. */
const CHECKS: Record<string, (kind: Kind, make: Make) => string | undefined> = {
  'S5 used len = bytes written': (kind, make) => {
    const r = rig(kind, make);
    r.post(0, 2048);
    r.dev.inject(pattern(100));
    const [rx] = r.used(r.rx, 1);
    r.send(0, HDR, pattern(60));
    r.dev.kick(1);
    const [tx] = r.used(r.tx, 1, [2]);
    return rx.len === 112 && tx.len === 0 ? undefined : `RX len ${rx.len} (expected 112), TX len ${tx.len} (expected 0)`;
  },
  'N2 no call while suppressed': (kind, make) => {
    const r = rig(kind, make);
    if (r.tx instanceof SplitRing) r.tx.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    else (r.tx as PackedRing).setDriverEvent(0, RING_EVENT_FLAGS_DISABLE);
    r.send(0, HDR, pattern(60));
    r.dev.kick(1);
    return r.dev.calls[1] === 0 ? undefined : `${r.dev.calls[1]} call(s) with notifications suppressed`;
  },
  'S1 readable buffers untouched': (kind, make) => {
    const r = rig(kind, make);
    const at = r.send(0, HDR, pattern(300, 3));
    const before = [...r.ram.read(at, 12), ...r.ram.read(at + 0x100, 300)];
    r.dev.kick(1);
    const after = [...r.ram.read(at, 12), ...r.ram.read(at + 0x100, 300)];
    const diff = before.findIndex((b, i) => b !== after[i]);
    return diff < 0 ? undefined : `TX buffer byte ${diff} changed`;
  },
  'S7 used.idx free-running': (kind, make) => {
    if (kind === 'packed') return undefined; // no used.idx in a packed ring
    const r = new NetRig(featureSet(F.F_VERSION_1), make, 4);
    r.txSplit.startAt(0xfff0);
    r.dev.setQueue(1, r.txSplit.cfg);
    r.start();
    let last = r.txSplit.usedIdx();
    for (let k = 0; k < 24; k++) {
      r.send(k, HDR, pattern(60));
      r.dev.kick(1);
      const now = r.txSplit.usedIdx();
      const delta = (now - last) & 0xffff;
      if (delta < 1 || delta > 4) return `used.idx went from ${last} to ${now} (queue size 4)`;
      last = now;
    }
    return undefined;
  },
  'S6 each chain returned once': (kind, make) => {
    const r = rig(kind, make);
    for (let k = 0; k < 3; k++) r.send(k, HDR, pattern(60));
    r.dev.kick(1);
    if (r.tx instanceof SplitRing) {
      const n = r.tx.usedIdx();
      const ids = r.used(r.tx, n).map((u) => u.id);
      return n === 3 && new Set(ids).size === 3 ? undefined : `${n} used entries for 3 buffers: ids ${ids.join(',')}`;
    }
    // Packed: 3 lists of 2 descriptors → used descriptors at 0, 2, 4; anything at 6 is extra.
    const ids = r.used(r.tx, 4, [2, 2, 2, 2]);
    const extra = (r.tx as PackedRing).read(6).flags !== 0;
    return !extra && new Set(ids.slice(0, 3).map((u) => u.id)).size === 3 ? undefined : `extra used descriptor with id ${ids[3].id}`;
  },
  'N1 call when due': (kind, make) => {
    const r = rig(kind, make);
    r.send(0, HDR, pattern(60));
    r.dev.kick(1);
    return r.dev.calls[1] === 1 ? undefined : `${r.dev.calls[1]} call(s) for one used buffer, notifications enabled`;
  },
  'S8 nothing beyond avail.idx': (kind, make) => {
    if (kind === 'packed') return undefined; // no avail.idx in a packed ring
    const r = rig(kind, make);
    r.send(0, HDR, pattern(60));
    // A complete chain at descriptors 4, 5 in avail slot 1, never published.
    r.txSplit.setDesc(4, TX_BUF + 0x4000, 12, VIRTQ_DESC_F_NEXT, 5);
    r.txSplit.setDesc(5, TX_BUF + 0x4100, 60, 0);
    r.txSplit.setRingEntry(1, 4);
    r.dev.kick(1);
    const ids = r.used(r.tx, r.txSplit.usedIdx()).map((u) => u.id);
    return ids.includes(4) ? `used ids ${ids.join(',')}: head 4 was never made available` : undefined;
  },
  'I1 WRITE on an indirect pointer ignored': (kind, make) => {
    const r = rig(kind, make, [F.F_INDIRECT_DESC]);
    const table = TX_BUF + 0x8000;
    r.ram.write(TX_BUF, HDR);
    r.ram.write(TX_BUF + 0x100, pattern(80, 9));
    // Table entries: split (addr, len, flags, next); packed (addr, len, id, flags).
    if (kind === 'split') {
      r.ram.rawDesc(table, TX_BUF, 12, VIRTQ_DESC_F_NEXT, 1);
      r.ram.rawDesc(table + 16, TX_BUF + 0x100, 80, 0, 0);
      r.txSplit.setDesc(0, table, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE);
      r.txSplit.offer(0);
    } else {
      r.ram.rawDesc(table, TX_BUF, 12, 0, 0);
      r.ram.rawDesc(table + 16, TX_BUF + 0x100, 80, 0, 0);
      (r.tx as PackedRing).offer([{ addr: table, len: 32, flags: VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE }], 0);
    }
    r.dev.kick(1);
    return r.sent.length === 1 && r.sent[0].frame.length === 80 ? undefined : `${r.sent.length} frame(s) sent for one readable 12 + 80-byte indirect table`;
  },
  'H2 num_buffers written': (kind, make) => {
    const r = rig(kind, make, [F.NET_F_MRG_RXBUF]);
    r.ram.fill(RX_BUF, 2048, 0xa5);
    r.post(0, 2048);
    r.dev.inject(pattern(100));
    const n = r.ram.dv.getUint16(r.ram.off(RX_BUF + 10), true);
    return n === 1 ? undefined : `num_buffers 0x${n.toString(16)} for a packet in one buffer`;
  },
};

const EXPECTED: Record<NetFault, string[]> = {
  'wrong-used-len': ['S5 used len = bytes written'],
  'notify-while-suppressed': ['N2 no call while suppressed'],
  'writes-readable': ['S1 readable buffers untouched'],
  'wraps-used-idx': ['S7 used.idx free-running'],
  'returns-chain-twice': ['S6 each chain returned once'],
  'beyond-avail': ['S6 each chain returned once', 'S8 nothing beyond avail.idx'],
  'honours-indirect-write': ['I1 WRITE on an indirect pointer ignored'],
  'num-buffers-unwritten': ['H2 num_buffers written'],
  'no-notify': ['N1 call when due'],
};

function failures(kind: Kind, make: Make): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, check] of Object.entries(CHECKS)) {
    const evidence = check(kind, make);
    if (evidence) out[name] = evidence;
  }
  return out;
}

for (const kind of ['split', 'packed'] as const) {
  describe(`broken reference devices (${kind} ring)`, () => {
    it('the reference device passes every check', () => {
      assert.deepEqual(failures(kind, (o) => new ReferenceNetDevice(o)), {});
    });

    for (const [fault, Device] of Object.entries(BROKEN_NET_DEVICES) as [NetFault, (typeof BROKEN_NET_DEVICES)[NetFault]][]) {
      // Split-only faults: packed rings have no used.idx and no avail.idx.
      const applies = !(kind === 'packed' && (fault === 'wraps-used-idx' || fault === 'beyond-avail'));
      it(`${fault}: ${applies ? `fails exactly ${EXPECTED[fault].map((c) => `"${c}"`).join(', ')}` : 'behaves as the reference (a split-ring fault)'}`, () => {
        const failed = failures(kind, (o) => new Device(o));
        assert.deepEqual(Object.keys(failed).sort(), applies ? EXPECTED[fault] : [], JSON.stringify(failed));
      });
    }
  });
}
