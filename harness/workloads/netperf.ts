// netperf/netserver, the default engine: all six workloads, with netperf's own test names.
//
// Output: omni output selectors (`-- -k LIST`), one KEY=VALUE per line, parsed by key, never by
// column. Servers: one foreground, non-forking netserver per stream (`-D -f`, ports 12865+i):
// a forking netserver serves each test in a child that it never waits for, so that child's CPU
// would vanish from the peer's accounting when it exits; in-process servers keep it attributable.
// UDP_STREAM peer -> guest has no netperf test name that reverses it, so the client (netperf)
// runs on the peer and the netserver in the guest.
import type { WorkloadName } from '../config/schema.ts';
import type { Metrics } from '../results/metrics.ts';
import { combineMetrics, toNumber, WorkloadParseError } from './parse.ts';
import {
  directionOf,
  isStream,
  type EngineCommand,
  type ServerCommand,
  type Side,
  type ToolResolver,
  type WorkloadEngine,
  type WorkloadSpec,
} from './types.ts';

export const NETSERVER_BASE_PORT = 12865;
const ENGINE = 'netperf';
const UDP_MAX = 65507;

/** Every selector the parser reads; netperf prints -1 (or nothing) for those a test lacks. */
export const NETPERF_SELECTORS = [
  'THROUGHPUT',
  'THROUGHPUT_UNITS',
  'ELAPSED_TIME',
  'PROTOCOL',
  'DIRECTION',
  'LOCAL_SEND_SIZE',
  'REMOTE_SEND_SIZE',
  'REQUEST_SIZE',
  'RESPONSE_SIZE',
  'LOCAL_BYTES_SENT',
  'REMOTE_BYTES_RECVD',
  'LOCAL_SEND_CALLS',
  'REMOTE_RECV_CALLS',
  'LOCAL_TRANSPORT_RETRANS',
  'REMOTE_TRANSPORT_RETRANS',
  'TRANSACTION_RATE',
  'RT_LATENCY',
  'MEAN_LATENCY',
  'MIN_LATENCY',
  'MAX_LATENCY',
  'P50_LATENCY',
  'P90_LATENCY',
  'P99_LATENCY',
  'STDDEV_LATENCY',
].join(',');

function testOptions(spec: WorkloadSpec): string[] {
  const n = String(spec.size);
  switch (spec.workload) {
    case 'TCP_STREAM':
      return ['-m', n];
    case 'TCP_MAERTS':
      // "-m local,remote": the remote side is the sender in MAERTS.
      return ['-m', `,${n}`];
    case 'UDP_STREAM':
      // -R 1: allow routing (netperf sets SO_DONTROUTE for UDP_STREAM unless told otherwise).
      return ['-m', n, '-R', '1'];
    case 'TCP_RR':
    case 'TCP_CRR':
    case 'UDP_RR':
      return ['-r', `${n},${n}`];
  }
}

/** netperf -l takes whole seconds. */
export function wholeSeconds(d: number): number {
  return Math.max(1, Math.round(d));
}

export function netperfEngine(tools: ToolResolver): WorkloadEngine {
  const clientSide = (spec: Pick<WorkloadSpec, 'workload' | 'direction'>): Side =>
    spec.workload === 'UDP_STREAM' && directionOf(spec) === 'peer-to-guest' ? 'peer' : 'guest';
  const serverSide = (spec: Pick<WorkloadSpec, 'workload' | 'direction'>): Side =>
    clientSide(spec) === 'guest' ? 'peer' : 'guest';

  return {
    name: 'netperf',
    startupS: 0,
    unsupported(spec) {
      if (spec.workload.startsWith('UDP_') && spec.size > UDP_MAX) {
        return `netperf ${spec.workload}: ${spec.size} bytes exceeds the largest UDP payload (${UDP_MAX})`;
      }
      return undefined;
    },
    clientSide,
    servers(listenIp, spec): ServerCommand[] {
      const bin = tools('netserver', serverSide(spec));
      return Array.from({ length: spec.streams }, (_, i) => {
        const port = NETSERVER_BASE_PORT + i;
        return { argv: [bin, '-D', '-f', '-L', listenIp, '-p', String(port)], port, proto: 'tcp' as const };
      });
    },
    clients(spec): EngineCommand[] {
      const bin = tools('netperf', clientSide(spec));
      const rr = !isStream(spec.workload);
      return Array.from({ length: spec.streams }, (_, i) => ({
        argv: [
          bin,
          '-H', spec.serverIp,
          '-p', String(NETSERVER_BASE_PORT + i),
          '-l', String(wholeSeconds(spec.durationS)),
          '-t', spec.workload,
          '-P', '0',
          // -j: keep per-transaction timings so MEAN/P50/P90/P99_LATENCY are measured, not derived.
          ...(rr ? ['-j'] : []),
          '--',
          ...testOptions(spec),
          '-k', NETPERF_SELECTORS,
        ],
      }));
    },
    parse: parseNetperf,
    combine: combineMetrics,
  };
}

/** KEY=VALUE lines of `-k` output. Anything else (banners, warnings) is ignored. */
export function netperfKeyValues(stdout: string): Map<string, string> {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) kv.set(m[1], m[2].trim());
  }
  return kv;
}

/** Bits per second per unit of THROUGHPUT for a stream test's THROUGHPUT_UNITS. */
function bitsPerUnit(units: string, text: string): number {
  const bits = /^10\^(\d+)bits\/s$/.exec(units);
  if (bits) return 10 ** Number(bits[1]);
  const bytes = /^([KMG]?)Bytes\/s$/.exec(units);
  if (bytes) return 8 * 1024 ** ' KMG'.indexOf(bytes[1] || ' ');
  throw new WorkloadParseError(ENGINE, `unexpected THROUGHPUT_UNITS "${units}" for a stream test`, text);
}

/** An optional selector: netperf prints -1 or an empty value when it has none. */
function optional(kv: Map<string, string>, key: string): number | undefined {
  const raw = kv.get(key);
  if (raw === undefined || raw === '') return undefined;
  const v = Number(raw);
  return Number.isFinite(v) && v >= 0 ? v : undefined;
}

export function parseNetperf(stdout: string, spec: Pick<WorkloadSpec, 'workload'>): Metrics {
  const kv = netperfKeyValues(stdout);
  if (kv.size === 0) throw new WorkloadParseError(ENGINE, 'no KEY=VALUE lines (omni -k output)', stdout);
  const num = (key: string) => toNumber(ENGINE, key, kv.get(key), stdout);
  const units = kv.get('THROUGHPUT_UNITS');
  if (units === undefined) throw new WorkloadParseError(ENGINE, 'missing THROUGHPUT_UNITS', stdout);
  return isStream(spec.workload) ? streamMetrics(spec.workload, kv, num, units, stdout) : rrMetrics(spec.workload, kv, num, units, stdout);
}

function streamMetrics(
  workload: WorkloadName,
  kv: Map<string, string>,
  num: (k: string) => number,
  units: string,
  text: string,
): Metrics {
  const m: Metrics = { throughput_bps: num('THROUGHPUT') * bitsPerUnit(units, text) };
  if (workload === 'UDP_STREAM') {
    // THROUGHPUT is what the receiver got; loss compares datagrams sent with datagrams received.
    const sent = num('LOCAL_SEND_CALLS');
    const recvd = num('REMOTE_RECV_CALLS');
    m.loss_pct = sent > 0 ? Math.max(0, ((sent - recvd) / sent) * 100) : 0;
    return m;
  }
  // tcpi_total_retrans of the sending socket: ours for STREAM, netserver's for MAERTS.
  const retrans = optional(kv, workload === 'TCP_STREAM' ? 'LOCAL_TRANSPORT_RETRANS' : 'REMOTE_TRANSPORT_RETRANS');
  if (retrans !== undefined) m.retransmits = retrans;
  return m;
}

function rrMetrics(
  workload: WorkloadName,
  kv: Map<string, string>,
  num: (k: string) => number,
  units: string,
  text: string,
): Metrics {
  if (units !== 'Trans/s') throw new WorkloadParseError(ENGINE, `unexpected THROUGHPUT_UNITS "${units}" for ${workload}`, text);
  const m: Metrics = { transactions_per_s: num('TRANSACTION_RATE') };
  // With -j netperf times every transaction: MEAN_LATENCY and the percentiles are in microseconds.
  const mean = optional(kv, 'MEAN_LATENCY') ?? optional(kv, 'RT_LATENCY');
  if (mean !== undefined) m.latency_mean_us = mean;
  const p: [string, 'latency_p50_us' | 'latency_p90_us' | 'latency_p99_us'][] = [
    ['P50_LATENCY', 'latency_p50_us'],
    ['P90_LATENCY', 'latency_p90_us'],
    ['P99_LATENCY', 'latency_p99_us'],
  ];
  for (const [key, name] of p) {
    const v = optional(kv, key);
    if (v !== undefined) m[name] = v;
  }
  if (workload === 'TCP_RR') {
    // Both ends send in RR; each socket's tcpi_total_retrans counts its own retransmissions.
    const l = optional(kv, 'LOCAL_TRANSPORT_RETRANS');
    const r = optional(kv, 'REMOTE_TRANSPORT_RETRANS');
    if (l !== undefined || r !== undefined) m.retransmits = (l ?? 0) + (r ?? 0);
  }
  return m;
}
