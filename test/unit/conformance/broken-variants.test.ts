// Faults that fire once, caught by a whole-suite run: each deliberately broken reference device is
// run through the whole suite once. With its fault firing only at the first opportunity in the
// device's life (in whatever check that happens), the suite still names exactly the requirement the
// fault breaks, failing it (MUST: exit code 1) or warning (SHOULD). (The faults firing always are
// covered device-side by test/unit/virtio/fault-modes.test.ts.)
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_REQUIREMENT, NET_FAULTS, parseFaultSpec, type NetFault } from '../../../harness/virtio/device/broken-net.ts';
import { ids, pool, runReference, type ReferenceRun } from './suite.ts';

const first = new Map<NetFault, ReferenceRun>();

describe('whole suite once per broken variant', () => {
  before(async () => {
    await pool(NET_FAULTS.map((f) => async () => first.set(f, await runReference(parseFaultSpec(`${f}@first`)))), 5);
  });

  for (const fault of NET_FAULTS) {
    const wanted = FAULT_REQUIREMENT[fault];
    it(`${fault}@first: fires once and the suite names ${wanted.join(' or ')}, nothing else`, () => {
      const r = first.get(fault)!;
      assert.match(r.fired, /^first \(1 fired of \d+ opportunities\)$/, 'the fault fired exactly once');
      const flagged = ids(r.by, 'fail', 'warn');
      const detail = flagged.map((i) => `${i}: ${r.by.get(i)!.evidence}`).join('\n');
      assert.ok(flagged.length > 0, `the single fault was caught (${r.fired})`);
      for (const id of flagged) assert.ok(wanted.includes(id), `${id} flagged, but ${fault} breaks ${wanted.join('/')}:\n${detail}`);
      const v = r.by.get(flagged[0])!;
      assert.equal(v.outcome, v.level === 'MUST' ? 'fail' : 'warn', 'a MUST fails (exit code 1), a SHOULD warns');
      // Caught by its own check, or seen elsewhere and recorded with where and when.
      if (v.seen) assert.match(v.evidence, /seen broken \d+× during \d+ other checks?: during \w+.*, ring \d, \+\d+ ms: /);
      else assert.match(v.evidence, /expected .*observed/);
    });
  }
});
