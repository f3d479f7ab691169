// Anomalies are findings: what a check's ring watches see breaking another requirement is recorded
// against that requirement (judgeConformance), with where and when, even when the observing check
// and the requirement's own check pass; a MUST seen broken fails, a SHOULD warns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeConformance } from '../../../harness/results/conformance.ts';
import type { ConformanceFindingRecord, ConformanceRecord } from '../../../harness/results/types.ts';

const rec = (requirement: string, outcome: ConformanceRecord['outcome'], level: 'MUST' | 'SHOULD' = 'MUST'): ConformanceRecord => ({
  type: 'conformance',
  dut: 'd',
  transport: 'vhost-user',
  requirement,
  section: '2.7.8',
  level,
  title: `title ${requirement}`,
  outcome,
  evidence: `own evidence of ${requirement}`,
  durationMs: 5,
});
const seen = (requirement: string, check: string, level: 'MUST' | 'SHOULD' = 'MUST', count = 1): ConformanceFindingRecord => ({
  type: 'conformance-finding',
  dut: 'd',
  transport: 'vhost-user',
  requirement,
  section: '2.7.8',
  level,
  title: `title ${requirement}`,
  check,
  ring: 1,
  atMs: 12,
  text: `used entry 1 names id 0, not a chain in flight`,
  count,
});

test('a MUST seen broken during another check fails, though its own check passed', () => {
  const [f3, s6] = judgeConformance([rec('F3', 'pass'), seen('S6', 'F3', 'MUST', 2), rec('S6', 'pass')]);
  assert.equal(f3.outcome, 'pass', 'the observing check keeps its own verdict');
  assert.equal(s6.outcome, 'fail');
  assert.equal(s6.checkOutcome, 'pass');
  assert.match(s6.evidence, /seen broken 2× during 1 other check: during F3 \(2×\), ring 1, \+12 ms: used entry 1 names id 0/);
  assert.match(s6.evidence, /its own check: pass: own evidence of S6/);
  assert.deepEqual(s6.seen, [{ check: 'F3', ring: 1, atMs: 12, text: 'used entry 1 names id 0, not a chain in flight', count: 2 }]);
});

test('a SHOULD seen broken warns; a failed check keeps failing with the sighting appended', () => {
  const [n4, s5] = judgeConformance([rec('N4', 'pass', 'SHOULD'), rec('S5', 'fail'), seen('N4', 'S1', 'SHOULD'), seen('S5', 'P1')]);
  assert.equal(n4.outcome, 'warn');
  assert.equal(s5.outcome, 'fail');
  assert.equal(s5.checkOutcome, undefined, 'the outcome did not change');
  assert.match(s5.evidence, /^own evidence of S5 — also seen broken 1× during 1 other check: during P1/);
});

test('a skipped check seen broken fails; one not in the run gets its own row; records without findings are untouched', () => {
  const out = judgeConformance([rec('S8', 'skip'), rec('F1', 'pass'), seen('S8', 'F3'), seen('S7', 'N3'), seen('S7', 'N4')]);
  assert.deepEqual(out.map((r) => [r.requirement, r.outcome]), [['S8', 'fail'], ['F1', 'pass'], ['S7', 'fail']]);
  assert.equal(out[1].evidence, 'own evidence of F1');
  assert.equal(out[1].seen, undefined);
  assert.match(out[2].evidence, /during 2 other checks: during N3.*during N4.*its own check: skip: its own check was not in this run/);
});

test('many sightings: three spelt out, the rest named', () => {
  const fs = ['A', 'B', 'C', 'D', 'E'].map((c) => seen('H1', c));
  const [h1] = judgeConformance([rec('H1', 'pass'), ...fs]);
  assert.match(h1.evidence, /during A.*during B.*during C.*; and during D, E/);
  assert.equal(h1.seen!.length, 5);
});
