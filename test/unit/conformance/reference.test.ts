// Every check against the in-process reference device written to the spec: every applicable
// requirement passes, and what is skipped is skipped for a stated reason that holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHECKS } from '../../../suites/conformance/index.ts';
import { ids, runReference } from './suite.ts';

test('reference device: all applicable checks pass, the rest skip with their reason', async () => {
  const { by: r, findings } = await runReference();
  assert.equal(r.size, CHECKS.length, 'one record per check');
  assert.deepEqual(findings, [], 'no check saw a requirement broken');
  assert.deepEqual(ids(r, 'fail', 'warn'), [], `no failures: ${[...r.values()].filter((x) => x.outcome === 'fail' || x.outcome === 'warn').map((x) => `${x.requirement}: ${x.evidence}`).join('\n')}`);
  // The reference offers VERSION_1, MRG_RXBUF, INDIRECT_DESC, EVENT_IDX, RING_PACKED, IN_ORDER only,
  // and has no per-ring enable.
  assert.deepEqual(ids(r, 'skip'), ['H11', 'H7', 'H8', 'M1', 'M2', 'M3']);
  for (const id of ['H7', 'H8']) assert.match(r.get(id)!.evidence, /does not offer NET_F_GUEST_CSUM/);
  assert.match(r.get('H11')!.evidence, /does not offer NET_F_CSUM/);
  for (const id of ['M1', 'M2', 'M3']) assert.match(r.get(id)!.evidence, /no per-ring enable/);
  for (const rec of r.values()) {
    assert.ok(rec.evidence.length > 20, `${rec.requirement} has evidence`);
    assert.ok(rec.section && rec.title, `${rec.requirement} names its section and title`);
    assert.equal(rec.transport, 'in-process');
  }
  // Evidence of what was checked, not just "ok": a few spot checks.
  assert.match(r.get('S7')!.evidence, /0xfff8 → 0x0 → 0x8/);
  assert.match(r.get('O2')!.evidence, /TX batch entry \(sizes 16\)/);
  assert.match(r.get('A1')!.evidence, /DEVICE_NEEDS_RESET/);
});
