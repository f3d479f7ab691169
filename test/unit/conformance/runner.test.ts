// The runner against the real in-process reference device, with checks written for the test: a
// check that hangs is a failure after its deadline, an operation the transport cannot express is
// a skip, a device that crashes is a finding and is restarted before the next check, and checks
// whose needs are not met are skipped with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReferenceDut } from '../../../harness/conform/dut-reference.ts';
import { runSuite } from '../../../harness/conform/runner.ts';
import { pass, type Check } from '../../../harness/conform/types.ts';
import { eventfd } from '../../../harness/sys/eventfd.ts';
import { F, featureSet } from '../../../harness/virtio/features.ts';

const base = { group: 'A' as const, section: 'test', level: 'MUST' as const, needs: {} };

test('a hung check fails after its deadline; the suite goes on', async () => {
  const dut = new ReferenceDut();
  const checks: Check[] = [
    { ...base, id: 'T1', title: 'hangs', timeoutMs: 200, run: () => new Promise(() => {}) },
    { ...base, id: 'T2', title: 'fine', run: async () => pass('ran after the hang') },
  ];
  const r = await runSuite({ dut, checks });
  assert.equal(r.records[0].outcome, 'fail');
  assert.match(r.records[0].evidence, /finish within 0\.2 s; observed the device stopped making progress/);
  assert.equal(r.records[1].outcome, 'pass');
  await dut.close();
});

test('an operation the transport cannot express is a skip with the reason', async () => {
  const dut = new ReferenceDut();
  const check: Check = {
    ...base,
    id: 'T3',
    title: 'ring enable',
    async run(ctx) {
      const s = await ctx.connect();
      await s.setVringEnable(2, true);
      return pass('unreachable');
    },
  };
  const r = await runSuite({ dut, checks: [check] });
  assert.equal(r.records[0].outcome, 'skip');
  assert.match(r.records[0].evidence, /cannot express ringEnable: .*no per-ring enable/);
  await dut.close();
});

test('a device that crashes during a check is a finding; it is restarted and the next check runs', async () => {
  const dut = new ReferenceDut();
  const kick = eventfd();
  const crash: Check = {
    ...base,
    id: 'T4',
    title: 'crashes the device',
    async run(ctx) {
      const s = await ctx.connect();
      // Queue 9 does not exist on a one-pair device: ReferenceNetDevice.setQueue throws (its crash).
      await s.setVringNum(9, 8);
      await s.setVringAddr({ index: 9, desc: 0x1000n, avail: 0x2000n, used: 0x3000n });
      await s.setVringKick(9, kick.fd);
      return pass('unreachable');
    },
  };
  const after: Check = {
    ...base,
    id: 'T5',
    title: 'works after the restart',
    async run(ctx) {
      const rig = await ctx.open({ features: featureSet(F.F_VERSION_1) });
      return pass(`alive ${ctx.alive()}, rig ${rig.kind}`);
    },
  };
  const r = await runSuite({ dut, checks: [crash, after] });
  kick.close();
  assert.equal(r.records[0].outcome, 'fail');
  assert.match(r.records[0].evidence, /queue 9 does not exist/);
  assert.match(r.records[0].evidence, /the device threw/);
  assert.equal(r.restarts, 1);
  assert.equal(dut.restarts, 1);
  assert.deepEqual([r.records[1].outcome, r.records[1].evidence], ['pass', 'alive true, rig split']);
  await dut.close();
});

test('needs not met: feature not offered, feature outside --features, no wire', async () => {
  const dut = new ReferenceDut();
  const mk = (id: string, needs: Check['needs']): Check => ({ ...base, id, title: id, needs, run: async () => pass('ran') });
  const r = await runSuite({
    dut,
    checks: [mk('T6', { features: [F.NET_F_GUEST_CSUM] }), mk('T7', { features: [F.F_EVENT_IDX] }), mk('T8', { features: [F.F_VERSION_1] })],
    allowed: featureSet(F.F_VERSION_1),
  });
  assert.deepEqual(
    r.records.map((x) => [x.requirement, x.outcome, x.evidence]),
    [
      ['T6', 'skip', 'the device does not offer NET_F_GUEST_CSUM'],
      ['T7', 'skip', 'F_EVENT_IDX is not in --features'],
      ['T8', 'pass', 'ran'],
    ],
  );
  await dut.close();
});
