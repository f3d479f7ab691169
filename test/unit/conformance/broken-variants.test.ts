// Proof the checks can fail: each deliberately broken reference device makes exactly the checks of
// the requirement it breaks fail (or warn, for a SHOULD) and no others. A check that cannot judge
// its own requirement because the device broke one another check owns (a buffer returned twice,
// used.idx wrapping at the ring size) reports itself not evaluable and names that check.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConformanceRecord } from '../../../harness/results/types.ts';
import type { NetFault } from '../../../harness/virtio/device/broken-net.ts';
import { ids, runReference } from './suite.ts';

const EXPECTED: Record<NetFault, { fail: string[]; warn: string[]; owner?: RegExp }> = {
  // used.len = writable capacity: above the bytes written (S5 split, P5 packed), and bytes below
  // len never written before used.idx moved (S4).
  'wrong-used-len': { fail: ['P5', 'S4', 'S5'], warn: [] },
  // SHOULD NOT notify: split without EVENT_IDX (N2), with EVENT_IDX (N4), packed DISABLE/DESC (P7).
  'notify-while-suppressed': { fail: [], warn: ['N2', 'N4', 'P7'] },
  'writes-readable': { fail: ['S1'], warn: [] },
  // N7 moves 50 000 buffers through a 256-entry ring and stalls at the first lap: not evaluable, S7's.
  'wraps-used-idx': { fail: ['S7'], warn: [], owner: /S7/ },
  // A packed ring is corrupted by the extra used descriptor (it lands on the next buffer's slot):
  // the packed checks after it are not evaluable, S6's.
  'returns-chain-twice': { fail: ['S6'], warn: [], owner: /S6/ },
};

let reference: Map<string, ConformanceRecord> | undefined;

// The variants are independent devices with their own rings and eventfds: run them side by side.
describe('broken reference devices', { concurrency: true }, () => {
  before(async () => {
    reference = await runReference();
    assert.deepEqual(ids(reference, 'fail', 'warn'), []);
  });
  for (const [fault, want] of Object.entries(EXPECTED) as [NetFault, (typeof EXPECTED)[NetFault]][]) {
    it(`${fault}: exactly ${[...want.fail, ...want.warn].join(', ')} flagged`, async () => {
      assert.ok(reference, 'baseline ran');
      const r = await runReference(fault);
      assert.deepEqual(ids(r, 'fail'), want.fail, `fail: ${ids(r, 'fail').map((i) => `${i}: ${r.get(i)!.evidence}`).join('\n')}`);
      assert.deepEqual(ids(r, 'warn'), want.warn, `warn: ${ids(r, 'warn').map((i) => `${i}: ${r.get(i)!.evidence}`).join('\n')}`);
      for (const id of [...want.fail, ...want.warn]) assert.match(r.get(id)!.evidence, /expected .*observed/, `${id} says expected vs observed`);
      for (const [id, rec] of r) {
        if (want.fail.includes(id) || want.warn.includes(id)) continue;
        const base: ConformanceRecord = reference!.get(id)!;
        if (rec.outcome === base.outcome) continue;
        // Only allowed difference: not evaluable because of the broken rule, with the owner named.
        assert.equal(rec.outcome, 'skip', `${id}: ${rec.outcome} (reference: ${base.outcome}): ${rec.evidence}`);
        assert.ok(want.owner, `${id} skipped but this fault should leave every other check evaluable: ${rec.evidence}`);
        assert.match(rec.evidence, /^not evaluable: .* (S6|S7)/, `${id}: ${rec.evidence}`);
        assert.match(rec.evidence, want.owner!, `${id} names the check that owns the cause`);
      }
    });
  }
});
