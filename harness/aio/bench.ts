// npm run bench:aio — aio-tap (both engines) against copy and macvtap on the same guest image and
// workloads, in one invocation: each round runs every variant through `vnetbench run` (its own
// run directory), rounds interleave the variants so slow drifts of the machine hit all of them,
// and the medians are printed: throughput, host CPU, throughput per host core, the goal
// (at least copy's throughput at most 0.8x its host CPU per Gbit/s) and the aio-tap counters that
// show where its time goes. Prints figures; never fails on them.
//
//   tsx harness/aio/bench.ts [--rounds 2] [--duration 10] [--variants copy,macvtap,aio-tap:io_uring,...]
//                            [--stream-size 16384] [--udp-size 1024] [--rr-size 64] [--batch 32] [--out DIR] [--cpu-prof]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import { UsageError, exitCodeFor, formatError } from '../core/errors.ts';
import { PROJECT_ROOT } from '../core/paths.ts';
import { newRunId } from '../results/rundir.ts';
import type { Metrics } from '../results/metrics.ts';
import { goalChecks, summarize, type BenchRow, type BenchSample } from './bench-summary.ts';

interface Variant {
  name: string;
  backend: string;
  engine?: 'io_uring' | 'linux-aio';
}

const DEFAULT_VARIANTS = 'copy,macvtap,aio-tap:io_uring,aio-tap:linux-aio,aio-macvtap:io_uring';

function parseVariant(v: string): Variant {
  const [backend, engine] = v.split(':');
  if (!backend || !['copy', 'macvtap', 'aio-tap', 'aio-macvtap', 'vhost-user'].includes(backend)) {
    throw new UsageError(`--variants: unknown backend in "${v}"`, `e.g. ${DEFAULT_VARIANTS}`);
  }
  if (engine !== undefined && engine !== 'io_uring' && engine !== 'linux-aio') throw new UsageError(`--variants: unknown engine in "${v}" (io_uring or linux-aio)`);
  if (engine && !backend.startsWith('aio')) throw new UsageError(`--variants: "${v}": only aio backends take an engine`);
  return { name: v, backend, ...(engine ? { engine } : backend.startsWith('aio') ? { engine: 'io_uring' as const } : {}) };
}

interface Options {
  rounds: number;
  duration: number;
  variants: Variant[];
  streamSize: number;
  udpSize: number;
  rrSize: number;
  batch: number;
  out: string;
  cpuProf: boolean;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '2' },
      duration: { type: 'string', default: '10' },
      variants: { type: 'string', default: DEFAULT_VARIANTS },
      'stream-size': { type: 'string', default: '16384' },
      'udp-size': { type: 'string', default: '1024' },
      'rr-size': { type: 'string', default: '64' },
      batch: { type: 'string', default: '32' },
      out: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
    },
  });
  const int = (k: string, v: string, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${k} ${v}: expected a whole number from ${min} to ${max}`);
    return n;
  };
  return {
    rounds: int('rounds', values.rounds!, 1, 20),
    duration: int('duration', values.duration!, 2, 600),
    variants: values.variants!.split(',').map((s) => parseVariant(s.trim())),
    streamSize: int('stream-size', values['stream-size']!, 1, 65507),
    udpSize: int('udp-size', values['udp-size']!, 1, 65507),
    rrSize: int('rr-size', values['rr-size']!, 1, 65507),
    batch: int('batch', values.batch!, 1, 1024),
    out: values.out ?? path.join('runs', newRunId('bench-aio')),
    cpuProf: values['cpu-prof']!,
  };
}

interface RunSpec {
  workloads: string[];
  size: number;
}

/** One `vnetbench run` of one variant; returns its iteration records and the aio-tap counter lines. */
function runOnce(o: Options, v: Variant, spec: RunSpec, dir: string): { samples: BenchSample[]; counters: string[] } {
  const cfgFile = `${dir}.json`;
  const config = {
    backends: [v.backend],
    workloads: spec.workloads,
    sizes: [spec.size],
    duration: o.duration,
    iterations: 1,
    warmup: 2,
    ...(v.engine ? { aio: { engine: v.engine, batch: o.batch } } : {}),
  };
  fs.writeFileSync(cfgFile, JSON.stringify(config, null, 1));
  const env = { ...process.env, ...(o.cpuProf && v.engine ? { VNETBENCH_AIO_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${path.resolve(dir)}-prof` } : {}) };
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'harness/cli/main.ts'), 'run', '--config', cfgFile, '--out', dir], {
    cwd: PROJECT_ROOT,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) process.stderr.write(`bench:aio: ${v.name} run exited ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}\n`);
  const samples: BenchSample[] = [];
  const results = path.join(dir, 'results.jsonl');
  if (fs.existsSync(results)) {
    for (const line of fs.readFileSync(results, 'utf8').split('\n').filter(Boolean)) {
      const rec = JSON.parse(line) as { type: string; cell?: { workload: string; direction?: string }; metrics?: Metrics; message?: string };
      if (rec.type === 'iteration' && rec.cell && rec.metrics) samples.push({ variant: v.name, workload: workloadLabel(rec.cell), metrics: rec.metrics });
      if (rec.type === 'error') process.stderr.write(`bench:aio: ${v.name}: ${rec.message ?? line}\n`);
    }
  }
  const log = path.join(dir, 'logs', v.backend, 'aio-tap.log');
  const counters = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('stats ')) : [];
  return { samples, counters };
}

function workloadLabel(cell: { workload: string; direction?: string }): string {
  return cell.direction ? `${cell.workload}:${cell.direction}` : cell.workload;
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');

function resultsTable(rows: BenchRow[]): string {
  const t = new Table({
    style: { head: [], border: [] },
    head: ['variant', 'workload', 'n', 'Gbit/s | trans/s', 'host CPU %', 'path CPU %', 'vCPU %', 'QEMU io %', 'backend %', 'host %/unit', 'path %/unit', 'per host core', 'per path core'],
  });
  for (const r of rows.sort((a, b) => a.workload.localeCompare(b.workload) || a.variant.localeCompare(b.variant))) {
    const rr = /_RR/.test(r.workload);
    t.push([r.variant, r.workload, r.samples, rr ? r.transPerS.toFixed(0) : f2(r.gbps), f1(r.hostPct), f1(r.pathPct), f1(r.vcpuPct), f1(r.qemuIoPct), f1(r.backendPct), f1(r.hostPerUnit), f1(r.pathPerUnit), rr ? r.perHostCore.toFixed(0) : f2(r.perHostCore), rr ? r.perPathCore.toFixed(0) : f2(r.perPathCore)]);
  }
  return t.toString();
}

function goalTable(rows: BenchRow[]): string {
  const t = new Table({ style: { head: [], border: [] }, head: ['variant', 'workload', 'throughput vs copy', 'host CPU/unit vs copy', 'path CPU/unit vs copy', 'goal (>=1.0x, <=0.8x)'] });
  for (const g of goalChecks(rows)) t.push([g.variant, g.workload, `${f2(g.throughputRatio)}x`, `${f2(g.hostCpuRatio)}x`, `${f2(g.pathCpuRatio)}x`, g.met ? 'met' : 'missed']);
  return t.toString();
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  fs.mkdirSync(o.out, { recursive: true });
  const specs: RunSpec[] = [
    { workloads: ['TCP_STREAM', 'TCP_MAERTS'], size: o.streamSize },
    // Datagrams below the MTU: larger ones are IP fragments, and lost fragments measure reassembly.
    { workloads: ['UDP_STREAM'], size: o.udpSize },
    { workloads: ['TCP_RR'], size: o.rrSize },
  ];
  const samples: BenchSample[] = [];
  const counters: Record<string, string[]> = {};
  const t0 = Date.now();
  for (let round = 1; round <= o.rounds; round++) {
    for (const v of o.variants) {
      for (const [i, spec] of specs.entries()) {
        const dir = path.join(o.out, `r${round}-${v.name.replace(':', '-')}-${['tcp', 'udp', 'rr'][i]}`);
        process.stderr.write(`bench:aio: round ${round}/${o.rounds}: ${v.name} ${spec.workloads.join(',')} (${Math.round((Date.now() - t0) / 1000)} s)\n`);
        const r = runOnce(o, v, spec, dir);
        samples.push(...r.samples);
        if (r.counters.length) (counters[`${v.name} ${spec.workloads.join(',')}`] ??= []).push(...r.counters.slice(-1));
      }
    }
  }
  const rows = summarize(samples);
  const summary = { options: { ...o, variants: o.variants.map((v) => v.name) }, rows, goal: goalChecks(rows), counters, wallS: Math.round((Date.now() - t0) / 1000) };
  fs.writeFileSync(path.join(o.out, 'bench-aio.json'), JSON.stringify(summary, null, 1));
  const out = process.stdout;
  out.write(`\naio-tap benchmark: ${o.rounds} round(s), ${o.duration} s per cell, TCP ${o.streamSize} B, UDP ${o.udpSize} B, RR ${o.rrSize} B, batch ${o.batch}; medians\n`);
  out.write('units: streams Gbit/s and CPU % per Gbit/s; TCP_RR trans/s and CPU % per 1000 trans/s. host = all CPU (/proc/stat), path = QEMU + aio-tap process + vhost\n');
  out.write(`${resultsTable(rows)}\n${goalTable(rows)}\n`);
  for (const [k, lines] of Object.entries(counters)) out.write(`aio-tap counters, ${k} (last run, cumulative): ${lines.at(-1)?.replace(/^.*stats /, '')}\n`);
  out.write(`results: ${path.join(o.out, 'bench-aio.json')} (${summary.wallS} s)\n`);
}

main().catch((err) => {
  process.stderr.write(`Error: ${formatError(err)}\n`);
  process.exitCode = exitCodeFor(err);
});
