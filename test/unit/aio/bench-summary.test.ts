// The arithmetic of `npm run bench:aio` over iteration records of a real run (fixtures/aio):
// medians per variant and workload, CPU per Gbit/s, throughput per core, the goal ratios.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixturesDir } from '../../../harness/core/paths.ts';
import { goalChecks, median, summarize, type BenchSample } from '../../../harness/aio/bench-summary.ts';

const records = fs
  .readFileSync(path.join(fixturesDir(), 'aio', 'copy-vs-aio-tap.results.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { cell: { backend: string; workload: string }; metrics: BenchSample['metrics'] });
const samples: BenchSample[] = records.map((r) => ({ variant: r.cell.backend, workload: r.cell.workload, metrics: r.metrics }));

test('median of odd, even and empty lists', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('rows: throughput in Gbit/s, host CPU per Gbit/s and per core, path CPU = QEMU + backend', () => {
  const rows = summarize(samples);
  assert.equal(rows.length, 4);
  for (const r of rows) {
    const src = samples.find((s) => s.variant === r.variant && s.workload === r.workload)!.metrics;
    assert.equal(r.gbps, src.throughput_bps! / 1e9);
    assert.equal(r.hostPct, src.host_cpu_total_pct);
    assert.equal(r.pathPct, src.qemu_process_pct! + (src.cpu_backend_pct ?? 0) + (src.cpu_vhost_pct ?? 0));
    assert.ok(Math.abs(r.hostPerUnit - r.hostPct / r.gbps) < 1e-9);
    assert.ok(Math.abs(r.perHostCore - r.gbps / (r.hostPct / 100)) < 1e-9);
  }
  const aio = rows.find((r) => r.variant === 'aio-tap' && r.workload === 'TCP_STREAM')!;
  assert.ok(aio.backendPct > 0, 'the aio-tap process is part of the path');
  assert.equal(rows.find((r) => r.variant === 'copy')!.backendPct, 0, 'copy has no backend process');
});

test('goal: throughput ratio and CPU-per-Gbit/s ratio against copy, per workload', () => {
  const rows = summarize(samples);
  const goals = goalChecks(rows);
  assert.deepEqual(goals.map((g) => `${g.variant} ${g.workload}`).sort(), ['aio-tap TCP_MAERTS', 'aio-tap TCP_STREAM']);
  for (const g of goals) {
    const a = rows.find((r) => r.variant === 'aio-tap' && r.workload === g.workload)!;
    const c = rows.find((r) => r.variant === 'copy' && r.workload === g.workload)!;
    assert.equal(g.throughputRatio, a.gbps / c.gbps);
    assert.equal(g.hostCpuRatio, a.hostPerUnit / c.hostPerUnit);
    assert.equal(g.met, g.throughputRatio >= 1 && g.hostCpuRatio <= 0.8);
  }
});
