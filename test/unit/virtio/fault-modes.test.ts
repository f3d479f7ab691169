// Firing modes of the deliberately broken reference devices: `always` misbehaves at every
// opportunity, `first` only at the first, `after:N` once at opportunity N+1; the opportunity count
// belongs to the trigger, shared by every device built with it. A device whose fault never fires,
// and the clean device, behave byte for byte as the reference device did before faults had modes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReferenceDut } from '../../../harness/conform/dut-reference.ts';
import type { InProcessSession } from '../../../harness/conform/inprocess-session.ts';
import { BROKEN_NET_DEVICES, FAULT_REQUIREMENT, NET_FAULTS, faultSpecName, parseFaultSpec, type NetFault } from '../../../harness/virtio/device/broken-net.ts';
import { FaultTrigger, type FaultMode } from '../../../harness/virtio/device/fault-trigger.ts';
import { ReferenceNetDevice } from '../../../harness/virtio/device/reference-net.ts';
import { F, featureSet } from '../../../harness/virtio/features.ts';
import { VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../../harness/virtio/layout.ts';
import { emptyNetHdr, encodeNetHdr } from '../../../harness/virtio/net-header.ts';
import { NetRig, RX_BUF, TX_BUF } from './device/net-rig.ts';
import { pattern } from './device/rings.ts';
import { SCENARIO_FEATURES, scenarioDigest } from './device/scenario.ts';

const HDR = (() => {
  const b = new Uint8Array(12);
  encodeNetHdr(emptyNetHdr(), b);
  return b;
})();

/** One fault's opportunities on a split ring: prepare the rig, then make opportunity k and say whether the fault showed. */
interface Probe {
  features?: number[];
  size?: number;
  setup?(r: NetRig): void;
  step(r: NetRig, k: number): boolean;
}

/** One TX chain (descriptors 2k, 2k+1 of a 16-entry ring), one kick: how far used.idx moved, and the entry written. */
function sendOne(r: NetRig, k: number): { moved: number; len: number } {
  const before = r.txSplit.usedIdx();
  r.send(k, HDR, pattern(60, k));
  r.dev.kick(1);
  const moved = (r.txSplit.usedIdx() - before) & 0xffff;
  return { moved, len: r.txSplit.usedElem(before % r.txSplit.size).len };
}

const PROBES: Record<NetFault, Probe> = {
  'wrong-used-len': { step: (r, k) => sendOne(r, k).len !== 0 },
  'writes-readable': {
    step(r, k) {
      const at = TX_BUF + k * 0x1000 + 0x100;
      sendOne(r, k);
      return r.ram.read(at, 60).some((b, i) => b !== pattern(60, k)[i]);
    },
  },
  'returns-chain-twice': { step: (r, k) => sendOne(r, k).moved === 2 },
  'beyond-avail': { step: (r, k) => sendOne(r, k).moved === 2 },
  'no-notify': {
    step(r, k) {
      const calls = r.dev.calls[1];
      sendOne(r, k);
      return r.dev.calls[1] === calls;
    },
  },
  'notify-while-suppressed': {
    setup: (r) => r.txSplit.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT),
    step(r, k) {
      const calls = r.dev.calls[1];
      sendOne(r, k);
      return r.dev.calls[1] !== calls;
    },
  },
  // Ring of 4: the first 3 publishes (idx 1..3) are below the size and no opportunity.
  'wraps-used-idx': {
    size: 4,
    setup(r) {
      for (let k = 0; k < 3; k++) sendOne(r, k);
    },
    step(r, k) {
      sendOne(r, k + 3);
      return r.txSplit.usedIdx() !== k + 4; // buffers used so far
    },
  },
  'honours-indirect-write': {
    features: [F.F_INDIRECT_DESC],
    step(r, k) {
      const table = TX_BUF + 0x8000 + k * 0x100;
      const buf = TX_BUF + k * 0x1000;
      r.ram.write(buf, HDR);
      r.ram.write(buf + 0x100, pattern(80, k));
      r.ram.rawDesc(table, buf, 12, VIRTQ_DESC_F_NEXT, 1);
      r.ram.rawDesc(table + 16, buf + 0x100, 80, 0, 0);
      r.txSplit.setDesc(k % r.txSplit.size, table, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE);
      r.txSplit.offer(k % r.txSplit.size);
      const sent = r.sent.length;
      r.dev.kick(1);
      return r.sent.length === sent;
    },
  },
  'num-buffers-unwritten': {
    features: [F.NET_F_MRG_RXBUF],
    step(r, k) {
      const at = RX_BUF + k * 0x4000;
      r.ram.fill(at, 2048, 0xa5);
      r.post(k, 2048);
      r.dev.inject(pattern(100, k));
      return r.ram.dv.getUint16(r.ram.off(at + 10), true) !== 1;
    },
  },
};

function probeRig(fault: NetFault, trigger: FaultTrigger): NetRig {
  const p = PROBES[fault];
  const r = new NetRig(featureSet(F.F_VERSION_1, ...(p.features ?? [])), (o) => new BROKEN_NET_DEVICES[fault]({ ...o, trigger }), p.size ?? 16);
  r.start();
  p.setup?.(r);
  return r;
}

/** Where the fault showed over `count` opportunities. */
function firings(fault: NetFault, mode: FaultMode, count = 5): boolean[] {
  const r = probeRig(fault, new FaultTrigger(mode));
  return Array.from({ length: count }, (_, k) => PROBES[fault].step(r, k));
}

const MODES: [string, FaultMode, boolean[]][] = [
  ['always', { kind: 'always' }, [true, true, true, true, true]],
  ['first', { kind: 'first' }, [true, false, false, false, false]],
  ['after:0', { kind: 'after', n: 0 }, [true, false, false, false, false]],
  ['after:2', { kind: 'after', n: 2 }, [false, false, true, false, false]],
  ['after:9', { kind: 'after', n: 9 }, [false, false, false, false, false]],
];

describe('fault modes: each fault fires exactly at the opportunities its mode names', () => {
  for (const fault of NET_FAULTS) {
    for (const [name, mode, want] of MODES) {
      it(`${fault}@${name}`, () => assert.deepEqual(firings(fault, mode), want));
    }
  }
});

describe('fault modes: one trigger for the whole device under test', () => {
  for (const fault of NET_FAULTS) {
    it(`${fault}: "first" fires in the first device only; the second one built with the trigger behaves`, () => {
      const trigger = new FaultTrigger({ kind: 'first' });
      assert.equal(PROBES[fault].step(probeRig(fault, trigger), 0), true);
      const second = probeRig(fault, trigger);
      assert.deepEqual([0, 1, 2].map((k) => PROBES[fault].step(second, k)), [false, false, false]);
      assert.equal(trigger.fired, 1);
      assert.equal(trigger.armed, false);
    });
  }

  it('after:N counts opportunities across devices', () => {
    const trigger = new FaultTrigger({ kind: 'after', n: 3 });
    const a = probeRig('no-notify', trigger);
    assert.deepEqual([0, 1].map((k) => PROBES['no-notify'].step(a, k)), [false, false]);
    const b = probeRig('no-notify', trigger);
    assert.deepEqual([0, 1, 2].map((k) => PROBES['no-notify'].step(b, k)), [false, true, false]);
    assert.equal(trigger.opportunities, 5);
    assert.equal(trigger.describe(), 'after:3 (1 fired of 5 opportunities)');
  });

  it('the in-process DUT gives every session (and every restart) the same trigger, and names the mode', async () => {
    const dut = new ReferenceDut(parseFaultSpec('no-notify@first'));
    try {
      assert.equal(dut.name, 'reference:no-notify@first');
      assert.match(dut.label, /fault no-notify@first/);
      const s1 = (await dut.connect()) as InProcessSession;
      await dut.restart();
      const s2 = (await dut.connect()) as InProcessSession;
      const t1 = (s1.device as InstanceType<(typeof BROKEN_NET_DEVICES)['no-notify']>).trigger;
      const t2 = (s2.device as InstanceType<(typeof BROKEN_NET_DEVICES)['no-notify']>).trigger;
      assert.equal(t1, dut.trigger);
      assert.equal(t2, dut.trigger);
      await s1.close();
      await s2.close();
      assert.equal(new ReferenceDut('wrong-used-len').name, 'reference:wrong-used-len');
      assert.equal(new ReferenceDut().name, 'reference');
    } finally {
      await dut.close();
    }
  });
});

describe('fault specs', () => {
  it('parses FAULT, FAULT@first, FAULT@after:N, FAULT@always and names them back', () => {
    assert.deepEqual(parseFaultSpec('beyond-avail'), { fault: 'beyond-avail', mode: { kind: 'always' } });
    assert.deepEqual(parseFaultSpec('no-notify@first'), { fault: 'no-notify', mode: { kind: 'first' } });
    assert.deepEqual(parseFaultSpec('wraps-used-idx@after:12'), { fault: 'wraps-used-idx', mode: { kind: 'after', n: 12 } });
    for (const text of ['beyond-avail', 'no-notify@first', 'wraps-used-idx@after:12']) assert.equal(faultSpecName(parseFaultSpec(text)), text);
    assert.equal(faultSpecName(parseFaultSpec('writes-readable@always')), 'writes-readable');
  });

  it('refuses bad input saying what is wrong and the accepted forms', () => {
    for (const [text, why] of [
      ['nope', /unknown fault "nope"/],
      ['', /no fault named/],
      ['@first', /no fault named before "@"/],
      ['no-notify@', /no mode after "@"/],
      ['no-notify@second', /unknown mode "second"/],
      ['no-notify@after:', /unknown mode "after:"/],
      ['no-notify@after:-1', /unknown mode "after:-1"/],
      ['no-notify@after:1.5', /unknown mode/],
    ] as const) {
      assert.throws(() => parseFaultSpec(text), (e: Error) => why.test(e.message) && /accepted: FAULT\[@MODE\].*beyond-avail.*after:N/.test(e.message), text);
    }
  });

  it('every fault names the requirement it violates', () => {
    assert.deepEqual(Object.keys(FAULT_REQUIREMENT).sort(), [...NET_FAULTS].sort());
    assert.deepEqual(FAULT_REQUIREMENT['beyond-avail'], ['S8']);
    assert.deepEqual(FAULT_REQUIREMENT['no-notify'], ['N1', 'N3']);
  });
});

// Recorded from the reference device before faults had modes (commit f07dfc2).
const GOLDEN: Record<string, string> = {
  '100000000': '219fe93c01e7809c3870a5b73fbb06c2823558039fc5a277b17ebd1cc4aefeb1',
  '130000000': '94fa05854f223bcc0891a507324fa7d309e3d6f73f2eab11ac6577b59dab4ff7',
  '900008000': '9f416b7a707b95f50b26d647e5ffa4d3173809e41b6bcff408ecd281cbd4f37a',
  '130008000': '57ec834babce669e2205e7227f395ba0bec79e4b9d5bddb11d266bdff121343e',
  '500000000': '2d6e6bc9cbe635b306ca74eef65aa2a0cd55d2a3f9ed4d7b2b4b32021a2482db',
  '530008000': '9c05be0c53c4b8ee59eaf395d3a880001bf53aec15984316825b1f2e9d2e5670',
};

describe('the clean device is unchanged', () => {
  for (const features of SCENARIO_FEATURES) {
    const key = features.toString(16);
    it(`features 0x${key}: the reference device, and every fault that never fires, byte for byte as before`, () => {
      assert.equal(scenarioDigest(features, (o) => new ReferenceNetDevice(o)), GOLDEN[key]);
      for (const fault of NET_FAULTS) {
        const never = new FaultTrigger({ kind: 'after', n: 1e6 });
        assert.equal(scenarioDigest(features, (o) => new BROKEN_NET_DEVICES[fault]({ ...o, trigger: never })), GOLDEN[key], fault);
      }
    });
  }
});
