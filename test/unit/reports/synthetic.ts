// SYNTHETIC run directories with known truth, for report and compare tests. Not measurements:
// every manifest says so (runId "synthetic-…", hostname "synthetic", config.synthetic), and
// these are written to temp dirs only, never committed as if a real run had produced them.
//
// Means are loosely shaped like this machine's TCG trial numbers (shared/notes/platform.md) so
// charts look like real ones; noise is Gaussian with a relative standard deviation from a
// seeded PRNG, so a test's outcome is fixed by its seed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MetricName, Metrics } from '../../../harness/results/metrics.ts';
import { cellId, RUN_SCHEMA, type CellKey, type ConformanceRecord, type ResultRecord, type RunManifest } from '../../../harness/results/types.ts';
import { summarize } from '../../../harness/stats/summary.ts';
import { prng } from '../../../harness/core/prng.ts';

/** Standard normal by Box-Muller. */
export function gaussian(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

export interface SyntheticSpec {
  runId: string;
  seed: number;
  backends?: string[];
  workloads?: string[];
  sizes?: number[];
  iterations?: number;
  /** Relative standard deviation of every metric, e.g. 0.02. */
  noise?: number;
  /** Multiply a cell's true metric values (the known change a compare test must find). */
  change?: (cell: CellKey) => Partial<Record<MetricName, number>>;
  /** Include conformance records (two DUT columns). */
  conformance?: boolean;
  /** Only conformance: no benchmark cells. */
  conformanceOnly?: boolean;
  /** Leave these backends out entirely (a "missing cell" in compare). */
  omitBackends?: string[];
  createdAt?: string;
}

const STREAM: Record<string, number> = { copy: 1.83e9, macvtap: 2.36e9, 'vhost-user': 0.81e9 };

/** The true mean of every metric of a cell, before any change and noise. */
export function truth(k: CellKey): Metrics {
  const rr = /_(RR|CRR)$/.test(k.workload);
  const sizeFactor = Math.min(1, Math.log2(k.size) / Math.log2(16384)) ** 2;
  const backendFactor = (STREAM[k.backend] ?? 1.5e9) / 1.83e9;
  const io = k.backend === 'macvtap' ? 14 : 18;
  const m: Metrics = {
    cpu_vcpu_pct: 96 + (k.size % 7),
    cpu_qemu_io_pct: io + sizeFactor * 6,
    host_softirq_pct: 8 + sizeFactor * 9,
    guest_cpu_pct: 97,
    harness_cpu_pct: 0.8,
    cpu_peer_pct: 22 + sizeFactor * 20,
  };
  if (k.backend === 'vhost-user') m.cpu_backend_pct = 95;
  m.qemu_process_pct = m.cpu_vcpu_pct! + m.cpu_qemu_io_pct!;
  m.host_cpu_total_pct = m.qemu_process_pct + m.host_softirq_pct! + (m.cpu_backend_pct ?? 0) + m.cpu_peer_pct! + 3;
  if (rr) {
    const lat = (k.workload === 'TCP_CRR' ? 420 : 129) * (k.backend === 'macvtap' ? 1.07 : 1) * (1 + k.size / 65536);
    m.transactions_per_s = 1e6 / lat;
    m.latency_mean_us = lat;
    m.latency_p50_us = lat * 0.93;
    m.latency_p90_us = lat * 1.35;
    m.latency_p99_us = lat * 2.6;
    m.packets_per_s = m.transactions_per_s * 2;
  } else {
    const dir = k.workload === 'TCP_MAERTS' ? 1.3 : k.workload === 'UDP_STREAM' ? (k.direction === 'peer-to-guest' ? 0.7 : 0.8) : 1;
    m.throughput_bps = STREAM.copy * backendFactor * dir * (0.06 + 0.94 * sizeFactor);
    m.packets_per_s = m.throughput_bps / 8 / Math.min(k.size + 66, 1514);
    const kbPerS = m.throughput_bps / 8 / 1024;
    m.service_demand_host_us_per_kb = ((m.host_cpu_total_pct / 100) * 1e6) / kbPerS;
    m.service_demand_guest_us_per_kb = ((m.guest_cpu_pct! / 100) * 1e6) / kbPerS;
    m.throughput_per_core_bps = m.throughput_bps / (m.host_cpu_total_pct / 100);
    m.guest_interrupts_per_packet = 0.4 + (1 - sizeFactor) * 0.5;
    if (k.workload === 'UDP_STREAM') m.loss_pct = 1.5;
  }
  return m;
}

function conformanceRecords(): ConformanceRecord[] {
  const reqs: [string, string, 'MUST' | 'SHOULD', string][] = [
    ['F1', '2.2.2', 'MUST', 'No feature without its prerequisite'],
    ['F2', '6.2', 'MUST', 'Offer VERSION_1'],
    ['S1', '2.7.5.1', 'MUST', 'Never write device-readable buffers'],
    ['S6', '2.7.8', 'MUST', 'id = chain head; each chain returned once'],
    ['S7', '2.7.8', 'MUST', 'used.idx is a free-running u16'],
    ['N2', '2.7.7.2', 'SHOULD', 'Without EVENT_IDX, with NO_INTERRUPT: SHOULD NOT notify'],
    ['P1', '2.8.1', 'MUST', 'Used descriptor: AVAIL = USED = wrap counter'],
    ['H4', '5.1.6', 'MUST', '12-byte header with VERSION_1'],
    ['S10', '2.7.5', 'MUST', 'Synthetic requirement to check natural sort'],
  ];
  const out: ConformanceRecord[] = [];
  for (const [requirement, section, level, title] of reqs) {
    const base = { type: 'conformance' as const, requirement, section, level, title, durationMs: 12 };
    let outcome: ConformanceRecord['outcome'] = 'pass';
    let evidence = `synthetic: checked ${requirement} <ok> & "quoted"`;
    if (requirement === 'S6') {
      outcome = 'fail';
      evidence = 'synthetic: expected head id 3 once, observed id 3 twice (used slots 4 and 5)\nsecond line of evidence';
    } else if (requirement === 'N2') {
      outcome = 'warn';
      evidence = 'synthetic: 12 calls while NO_INTERRUPT set (SHOULD NOT notify)';
    } else if (requirement === 'P1') {
      outcome = 'skip';
      evidence = 'synthetic: packed ring (VIRTIO_F_RING_PACKED) not offered by the device';
    }
    out.push({ ...base, dut: 'testpmd', transport: 'vhost-user', outcome, evidence });
    out.push({ ...base, dut: 'vhost-net', transport: 'kernel', outcome: 'skip', evidence: 'synthetic: /dev/vhost-net missing (CONFIG_VHOST_NET unset)' });
  }
  return out;
}

export interface SyntheticRun {
  dir: string;
  /** True (pre-noise) means per cell id and metric, after `change`. */
  truth: Map<string, Metrics>;
  cells: CellKey[];
}

export function writeSyntheticRun(dir: string, spec: SyntheticSpec): SyntheticRun {
  const backends = (spec.backends ?? ['copy', 'macvtap']).filter((b) => !spec.omitBackends?.includes(b));
  const workloads = spec.conformanceOnly ? [] : (spec.workloads ?? ['TCP_STREAM', 'TCP_MAERTS', 'TCP_RR']);
  const sizes = spec.sizes ?? [64, 1024, 16384];
  const iterations = spec.iterations ?? 5;
  const noise = spec.noise ?? 0.02;
  const normal = gaussian(prng(spec.seed));
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const createdAt = spec.createdAt ?? '2026-11-21T10:00:00.000Z';
  const manifest: RunManifest = {
    schema: RUN_SCHEMA,
    runId: spec.runId,
    kind: spec.conformanceOnly ? 'conformance' : 'benchmark',
    createdAt,
    finishedAt: new Date(Date.parse(createdAt) + 9 * 60_000 + 12_000).toISOString(),
    status: 'complete',
    host: { hostname: 'synthetic', kernel: '6.1.0-synthetic', cpuModel: 'Synthetic CPU @ 2.0GHz', cpus: 2, memMiB: 24000, os: 'Debian GNU/Linux 12 (bookworm)' },
    tool: { version: '0.1.0', node: process.version },
    versions: { qemu: 'QEMU emulator version 7.2.22 (synthetic)', 'guest kernel': '6.1.0-synthetic-cloud-amd64', netperf: '2.7.0 (synthetic)' },
    accel: 'tcg',
    config: { synthetic: 'generated by test/unit/reports/synthetic.ts with known truth; not a measurement', seed: spec.seed, backends, workloads, sizes, iterations },
    capabilities: [
      { name: 'copy', runnable: true, reason: '/dev/net/tun present, tap created (synthetic)' },
      { name: 'macvtap', runnable: true, reason: 'macvtap link created (synthetic)' },
      { name: 'vhost', runnable: false, reason: '/dev/vhost-net missing', fix: 'a kernel with CONFIG_VHOST_NET=m and modprobe vhost_net' },
      { name: 'kvm', runnable: false, reason: 'short boot probe timed out (synthetic)', fix: 'run on a host with working nested virtualisation' },
    ],
    commandLines: Object.fromEntries(
      backends.map((b) => [b, ['qemu-system-x86_64', '-name', `vnb-${b},debug-threads=on`, '-accel', 'tcg', '-m', '512', '-netdev', `tap,id=n0,ifname=vnb-${b}0,script=no,downscript=no,vhost=off`, '-device', 'virtio-net-pci,netdev=n0']]),
    ),
  };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  const records: ResultRecord[] = [];
  const truthMap = new Map<string, Metrics>();
  const cells: CellKey[] = [];
  for (const backend of backends) {
    if (workloads.length) records.push({ type: 'boot', backend, bootToReadyS: 3.4, accel: 'tcg' });
    for (const workload of workloads) {
      // As the planner does: UDP_STREAM is two cells, one per direction.
      const directions = workload === 'UDP_STREAM' ? (['guest-to-peer', 'peer-to-guest'] as const) : [undefined];
      const keys = directions.flatMap((d) => sizes.map((size): CellKey => ({ backend, workload, size, offloads: 'on', streams: 1, queues: 1, engine: 'netperf', ...(d ? { direction: d } : {}) })));
      for (const key of keys) {
        const { size } = key;
        const t = truth(key);
        const change = spec.change?.(key) ?? {};
        for (const [m, f] of Object.entries(change)) if (t[m as MetricName] !== undefined) t[m as MetricName]! *= f!;
        const id = cellId(key);
        truthMap.set(id, t);
        cells.push(key);
        const samples: Metrics[] = [];
        for (let i = 0; i < iterations; i++) {
          const metrics: Metrics = {};
          for (const [m, v] of Object.entries(t)) metrics[m as MetricName] = v! * (1 + noise * normal());
          samples.push(metrics);
          records.push({ type: 'iteration', cell: key, iteration: i, startedAt: new Date(Date.parse(createdAt) + i * 12_000).toISOString(), durationS: 10, metrics });
        }
        const summary = Object.fromEntries(Object.keys(t).map((m) => [m, summarize(samples.map((s) => s[m as MetricName]!), 0.95)]));
        const reached = !(backend === 'macvtap' && workload === 'TCP_RR' && size === 64);
        records.push({ type: 'cell', cell: key, summary, confidence: { level: 0.99, widthPct: 5, reached, iterations }, warnings: [] });
      }
    }
  }
  if (workloads.length) {
    records.push({ type: 'skip', backend: 'vhost', reason: '/dev/vhost-net missing (CONFIG_VHOST_NET unset)' });
    records.push({ type: 'skip', backend: 'copy', workload: 'TCP_CRR', reason: 'synthetic: engine has no TCP_CRR' });
  }
  if (spec.conformance || spec.conformanceOnly) records.push(...conformanceRecords());
  fs.writeFileSync(path.join(dir, 'results.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const cmds = [
    { argv: ['ip', 'netns', 'add', 'vnb-synthetic-peer'], code: 0, signal: null, durationMs: 4, stderrTail: '', at: createdAt },
    { argv: ['ip', 'link', 'add', 'vnb-syn0', 'type', 'veth', 'peer', 'name', 'vnb-syn1'], code: 0, signal: null, durationMs: 6, stderrTail: '', at: createdAt },
  ];
  fs.writeFileSync(path.join(dir, 'commands.jsonl'), cmds.map((c) => JSON.stringify(c)).join('\n') + '\n');
  return { dir, truth: truthMap, cells };
}

/** Append records to a run directory's results.jsonl (errors, retries, torn lines in tests). */
export function appendRecords(dir: string, records: readonly ResultRecord[]): void {
  fs.appendFileSync(path.join(dir, 'results.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

/** A fresh temp dir under the OS temp dir; the caller removes it. */
export function tempDir(prefix = 'vnb-report-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Run directories committed under fixtures/runs/ (produced by real runs), if any. */
export function fixtureRuns(): string[] {
  const root = path.resolve(import.meta.dirname, '..', '..', '..', 'fixtures', 'runs');
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .map((d) => path.join(root, d))
    .filter((d) => fs.existsSync(path.join(d, 'manifest.json')))
    .sort();
}

/** 400+ characters without a space: netperf's complaint about an omni `-k` selector list. */
export const LONG_ERROR =
  'netperf exited 1: unknown output selector in -k ' +
  'THROUGHPUT,THROUGHPUT_UNITS,LOCAL_SEND_SIZE,REMOTE_RECV_SIZE,ELAPSED_TIME,LOCAL_CPU_UTIL,REMOTE_CPU_UTIL,LOCAL_SD,REMOTE_SD,PROTOCOL,DIRECTION,MEAN_LATENCY,P50_LATENCY,P90_LATENCY,P99_LATENCY,MAX_LATENCY,STDDEV_LATENCY,TRANSACTION_RATE,LOCAL_TRANSPORT_RETRANS,REMOTE_TRANSPORT_RETRANS,LOCAL_SEND_CALLS,REMOTE_RECV_CALLS,LOCAL_BYTES_SENT,REMOTE_BYTES_RECVD,CONFIDENCE_LEVEL,CONFIDENCE_INTERVAL,CONFIDENCE_ITERATION,LOCAL_SYSNAME,REMOTE_SYSNAME_BOGUS_SELECTOR' +
  '\nsecond line of the netperf output';

/**
 * The fresh-machine run of the issue, SYNTHETIC: a real run configuration in the manifest (so the
 * planned cells are known), copy and macvtap measured with TCP_STREAM and both UDP_STREAM
 * directions at 64 B and 1 KiB, and everything that went wrong there:
 * - macvtap TCP_STREAM 1 KiB: 2 partial iterations, then an error with a 400-character text;
 * - macvtap UDP_STREAM guest→peer 64 B: an error, then a retry that was measured;
 * - copy UDP_STREAM peer→guest 64 B: 100 % loss (throughput 0);
 * - copy UDP_STREAM guest→peer 1 KiB: 2 far-apart iterations, so its interval reaches below 0;
 * - vhost skipped (no /dev/vhost-net), aio-tap never booted (a backend error, no cell named).
 * Planned 4 backends x 6 cells = 24: 11 measured, 7 errored, 6 skipped.
 */
export function writeIssueRun(dir: string, runId = 'synthetic-issue'): SyntheticRun {
  const run = writeSyntheticRun(dir, { runId, seed: 77, workloads: ['TCP_STREAM', 'UDP_STREAM'], sizes: [64, 1024], iterations: 3 });
  const mf = path.join(dir, 'manifest.json');
  const manifest = JSON.parse(fs.readFileSync(mf, 'utf8')) as RunManifest;
  manifest.config = {
    backends: ['copy', 'macvtap', 'vhost', 'aio-tap'],
    workloads: ['TCP_STREAM', 'UDP_STREAM'],
    sizes: [64, 1024],
    duration: 10,
    iterations: 3,
    warmup: 2,
    engine: 'netperf',
    streams: 1,
    queues: 1,
    offloads: ['on'],
  };
  manifest.capabilities.push({ name: 'aio-tap', runnable: true, reason: 'io_uring available (synthetic)' });
  fs.writeFileSync(mf, JSON.stringify(manifest, null, 2) + '\n');

  const rf = path.join(dir, 'results.jsonl');
  const records = fs.readFileSync(rf, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ResultRecord);
  const key = (backend: string, workload: string, size: number, direction?: CellKey['direction']): CellKey => ({
    backend, workload, size, offloads: 'on', streams: 1, queues: 1, engine: 'netperf', ...(direction ? { direction } : {}),
  });
  const errored = cellId(key('macvtap', 'TCP_STREAM', 1024));
  const retried = key('macvtap', 'UDP_STREAM', 64, 'guest-to-peer');
  const lost = cellId(key('copy', 'UDP_STREAM', 64, 'peer-to-guest'));
  const wide = cellId(key('copy', 'UDP_STREAM', 1024, 'guest-to-peer'));
  const out: ResultRecord[] = [];
  for (const r of records) {
    const id = r.type === 'iteration' || r.type === 'cell' ? cellId(r.cell) : '';
    if (id === errored) {
      // Two iterations made it; the third failed, so no summary was written.
      if (r.type === 'iteration' && r.iteration < 2) out.push(r);
      if (r.type === 'cell') out.push({ type: 'error', backend: 'macvtap', workload: 'TCP_STREAM', cell: r.cell, message: LONG_ERROR });
      continue;
    }
    if (r.type === 'cell' && id === cellId(retried)) {
      // The first attempt failed; the retry after a reboot produced these iterations and summary.
      const at = out.findIndex((x) => x.type === 'iteration' && cellId(x.cell) === id);
      out.splice(at, 0, { type: 'error', backend: 'macvtap', workload: 'UDP_STREAM', cell: retried, message: 'guest stalled: no virtio-net interrupt for 30 s' });
    }
    if (r.type === 'iteration' && id === lost) {
      const m = { ...r.metrics, throughput_bps: 0, throughput_per_core_bps: 0, loss_pct: 100 };
      delete m.service_demand_host_us_per_kb;
      delete m.service_demand_guest_us_per_kb;
      out.push({ ...r, metrics: m });
      continue;
    }
    if (r.type === 'iteration' && id === wide) {
      if (r.iteration >= 2) continue;
      out.push({ ...r, metrics: { ...r.metrics, throughput_bps: r.iteration === 0 ? 0.1e9 : 1.9e9 } });
      continue;
    }
    if (r.type === 'cell' && (id === lost || id === wide)) {
      const xs = out.filter((x): x is Extract<ResultRecord, { type: 'iteration' }> => x.type === 'iteration' && cellId(x.cell) === id);
      const names = [...new Set(xs.flatMap((x) => Object.keys(x.metrics)))] as MetricName[];
      const summary = Object.fromEntries(names.map((m) => [m, summarize(xs.map((x) => x.metrics[m]!), 0.95)]));
      out.push({ ...r, summary });
      continue;
    }
    out.push(r);
  }
  out.push({ type: 'error', backend: 'aio-tap', message: 'aio-tap device exited before READY: "signal 11"\nconsole tail: ...' });
  fs.writeFileSync(rf, out.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return run;
}
