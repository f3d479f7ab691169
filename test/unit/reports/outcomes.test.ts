// The one classifier of cell outcomes (harness/results/outcomes.ts) the terminal summary and the
// report share, on hand-made record sequences, and the planned cells a manifest implies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { classifyCells, countsText, effectiveStatus } from '../../../harness/results/outcomes.ts';
import { readRun } from '../../../harness/results/rundir.ts';
import { cellId, type CellKey, type ResultRecord } from '../../../harness/results/types.ts';
import { plannedCells } from '../../../harness/run/planned.ts';

const key = (backend: string, workload: string, size: number, direction?: CellKey['direction']): CellKey => ({
  backend,
  workload,
  size,
  offloads: 'on',
  streams: 1,
  queues: 1,
  engine: 'netperf',
  ...(direction ? { direction } : {}),
});
const it = (cell: CellKey, iteration: number): ResultRecord => ({ type: 'iteration', cell, iteration, startedAt: '2026-11-21T10:00:00Z', durationS: 10, metrics: { throughput_bps: 1e9 } });
const sum = (cell: CellKey): ResultRecord => ({ type: 'cell', cell, summary: {}, warnings: [] });
const err = (cell: CellKey, message = 'boom'): ResultRecord => ({ type: 'error', backend: cell.backend, workload: cell.workload, cell, message });

const a = key('copy', 'TCP_STREAM', 64);
const b = key('copy', 'TCP_STREAM', 1024);
const c = key('macvtap', 'TCP_STREAM', 64);
const outcome = (records: ResultRecord[], planned?: CellKey[]) => classifyCells(records, planned).cells.map((x) => [x.id, x.outcome, x.errors]);

test('partial iterations and an error, no summary: errored (the iterations do not make it measured)', () => {
  const cls = classifyCells([it(a, 0), it(a, 1), err(a, 'netperf exited 1')]);
  assert.deepEqual(cls.cells.map((x) => [x.outcome, x.iterations, x.errors]), [['errored', 2, ['netperf exited 1']]]);
  assert.deepEqual(cls.unattributed, []);
});

test('an error naming one cell stops that cell only, not its workload at other sizes', () => {
  assert.deepEqual(outcome([it(a, 0), sum(a), err(b)], [a, b]), [
    [cellId(a), 'measured', []],
    [cellId(b), 'errored', ['boom']],
  ]);
});

test('an error, then a retry with a summary: measured, the error kept as a recovered note', () => {
  const cls = classifyCells([it(a, 0), err(a, 'stalled'), it(a, 0), it(a, 1), sum(a)]);
  assert.deepEqual(cls.cells.map((x) => [x.outcome, x.errors]), [['measured', ['stalled']]]);
  assert.deepEqual(cls.unattributed, []);
  assert.equal(effectiveStatus('complete', cls), 'complete');
});

test('a backend error stops the planned cells without a summary; after the last cell it stops none', () => {
  const boot: ResultRecord = { type: 'error', backend: 'copy', message: 'QEMU died' };
  assert.deepEqual(outcome([it(a, 0), sum(a), boot], [a, b, c]), [
    [cellId(a), 'measured', []],
    [cellId(b), 'errored', ['QEMU died']],
    [cellId(c), 'unfinished', []],
  ]);
  const late = classifyCells([sum(a), sum(b), boot], [a, b]);
  assert.equal(late.counts.errored, 0);
  assert.deepEqual(late.unattributed, [boot]);
  assert.equal(effectiveStatus('complete', late), 'complete-with-errors');
  // Statuses that already say something went wrong stay as they are.
  assert.equal(effectiveStatus('failed', late), 'failed');
  assert.equal(effectiveStatus('interrupted', late), 'interrupted');
  assert.equal(effectiveStatus('complete', classifyCells([sum(a)])), 'complete');
});

test('skips: a cell skip beats a later backend error; a backend or workload skip covers its cells', () => {
  const skipB: ResultRecord = { type: 'skip', backend: 'copy', workload: 'TCP_STREAM', cell: b, reason: 'engine cannot' };
  assert.deepEqual(outcome([skipB, { type: 'error', backend: 'copy', message: 'QEMU died' }], [b]), [[cellId(b), 'skipped', []]]);
  const cls = classifyCells([{ type: 'skip', backend: 'macvtap', reason: 'no macvtap' }, { type: 'skip', backend: 'copy', workload: 'TCP_STREAM', reason: 'no netperf' }], [a, b, c]);
  assert.deepEqual(cls.cells.map((x) => [x.outcome, x.reason]), [
    ['skipped', 'no netperf'],
    ['skipped', 'no netperf'],
    ['skipped', 'no macvtap'],
  ]);
});

test('older runs: a cell id in `workload` names that cell', () => {
  const legacy: ResultRecord = { type: 'error', backend: 'copy', workload: cellId(b), message: 'netserver died' };
  assert.deepEqual(outcome([sum(a), legacy], [a, b]), [
    [cellId(a), 'measured', []],
    [cellId(b), 'errored', ['netserver died']],
  ]);
});

test('UDP_STREAM directions are separate cells; counts read the same in every output', () => {
  const g = key('copy', 'UDP_STREAM', 64, 'guest-to-peer');
  const p = key('copy', 'UDP_STREAM', 64, 'peer-to-guest');
  const cls = classifyCells([sum(g), it(p, 0)], [g, p]);
  assert.deepEqual(cls.counts, { total: 2, measured: 1, errored: 0, skipped: 0, unfinished: 1 });
  assert.equal(countsText(cls.counts), '1 measured, 0 errored, 0 skipped, 1 unfinished of 2 cells');
});

test('planned cells: from a benchmark manifest\'s configuration, none for conformance or an unreadable one', () => {
  const root = path.resolve(import.meta.dirname, '..', '..', '..', 'fixtures', 'runs');
  const bench = readRun(path.join(root, 'bench-tcg-small')).manifest;
  assert.equal(plannedCells(bench)?.length, 4 * 4 * 2);
  assert.equal(plannedCells(readRun(path.join(root, 'conform-testpmd')).manifest), undefined);
  assert.equal(plannedCells({ kind: 'benchmark', config: { synthetic: true } }), undefined);
  const udp = plannedCells({ kind: 'benchmark', config: { backends: ['copy'], workloads: ['UDP_STREAM'], sizes: [64] } })!;
  assert.deepEqual(udp.map((k) => k.direction), ['guest-to-peer', 'peer-to-guest']);
});
