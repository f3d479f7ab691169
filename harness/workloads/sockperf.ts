// sockperf, an alternate engine: ping-pong for TCP_RR and UDP_RR (round-trip percentiles), and
// throughput mode for TCP_STREAM, TCP_MAERTS and UDP_STREAM. Throughput mode only sends from
// client to server, so peer -> guest workloads (TCP_MAERTS, UDP_STREAM peer-to-guest) put the
// client on the peer and the server in the guest. It has no connect-per-transaction mode, so no
// TCP_CRR; its messages carry a 14-byte header, so sizes below 14 are refused.
//
// Limits, stated in the results' docs: throughput mode reports what the client sent (its server
// prints a received count only on exit, summed over all tests), so UDP_STREAM gives offered load
// and no loss; ping-pong counts dropped replies, reported as loss for UDP_RR.
import type { Metrics } from '../results/metrics.ts';
import { wholeSeconds } from './netperf.ts';
import { combineMetrics, toNumber, WorkloadParseError } from './parse.ts';
import { directionOf, isStream, type Side, type ToolResolver, type WorkloadEngine, type WorkloadSpec } from './types.ts';

export const SOCKPERF_PORT = 11111;
export const SOCKPERF_STARTUP_S = 2;
const ENGINE = 'sockperf';
const MIN_SIZE = 14;
const UDP_MAX = 65507;

const isTcp = (spec: Pick<WorkloadSpec, 'workload'>) => spec.workload.startsWith('TCP_');

export function sockperfEngine(tools: ToolResolver): WorkloadEngine {
  const clientSide = (spec: Pick<WorkloadSpec, 'workload' | 'direction'>): Side =>
    isStream(spec.workload) && directionOf(spec) === 'peer-to-guest' ? 'peer' : 'guest';
  return {
    name: 'sockperf',
    // Measured: "Starting test" comes 2.0 s after launch, with or without --dontwarmup.
    startupS: SOCKPERF_STARTUP_S,
    unsupported(spec) {
      if (spec.workload === 'TCP_CRR') {
        return 'sockperf has no connect/request/response mode (ping-pong reuses one connection), so it cannot run TCP_CRR; use netperf';
      }
      if (spec.size < MIN_SIZE) return `sockperf messages are at least ${MIN_SIZE} bytes (its header); size ${spec.size} is too small`;
      if (!isTcp(spec) && spec.size > UDP_MAX) return `sockperf ${spec.workload}: ${spec.size} bytes exceeds the largest UDP payload (${UDP_MAX})`;
      return undefined;
    },
    clientSide,
    servers(listenIp, spec) {
      const side: Side = clientSide(spec) === 'guest' ? 'peer' : 'guest';
      const tcp = isTcp(spec);
      return [
        {
          argv: [tools('sockperf', side), 'server', '-i', listenIp, '-p', String(SOCKPERF_PORT), ...(tcp ? ['--tcp'] : [])],
          port: SOCKPERF_PORT,
          proto: tcp ? 'tcp' : 'udp',
        },
      ];
    },
    clients(spec) {
      const mode = isStream(spec.workload) ? ['throughput'] : ['ping-pong', '--full-rtt'];
      const argv = [
        tools('sockperf', clientSide(spec)),
        ...mode,
        '-i', spec.serverIp,
        '-p', String(SOCKPERF_PORT),
        '-t', String(wholeSeconds(spec.durationS)),
        '-m', String(spec.size),
        // Time with the monotonic clock: a guest's TSC under TCG is emulated and may not be stable.
        '--no-rdtsc',
        ...(isTcp(spec) ? ['--tcp'] : []),
      ];
      return Array.from({ length: spec.streams }, () => ({ argv: [...argv] }));
    },
    parse: parseSockperf,
    combine: combineMetrics,
  };
}

/** sockperf colours some lines even when not on a terminal. */
export function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}

export function parseSockperf(stdout: string, spec: Pick<WorkloadSpec, 'workload' | 'size'>): Metrics {
  const text = stripAnsi(stdout);
  return isStream(spec.workload) ? throughputMetrics(text, spec.size, stdout) : pingPongMetrics(text, spec.workload === 'UDP_RR', stdout);
}

function throughputMetrics(text: string, size: number, raw: string): Metrics {
  // "sockperf: Total of 445012 messages sent in 2.000 sec"
  const m = /Total of (\S+) messages sent in (\S+) sec/.exec(text);
  if (!m) throw new WorkloadParseError(ENGINE, 'no "Total of N messages sent in T sec" line (throughput mode)', raw);
  const n = toNumber(ENGINE, 'messages sent', m[1], raw);
  const t = toNumber(ENGINE, 'run time', m[2], raw);
  if (t === 0) throw new WorkloadParseError(ENGINE, 'run time is 0 s', raw);
  return { throughput_bps: (n * size * 8) / t };
}

function pingPongMetrics(text: string, udp: boolean, raw: string): Metrics {
  // "[Valid Duration] RunTime=0.550 sec; SentMessages=11426; ReceivedMessages=11426"
  const valid = /\[Valid Duration\] RunTime=(\S+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)/.exec(text);
  if (!valid) throw new WorkloadParseError(ENGINE, 'no "[Valid Duration] RunTime=..." line (ping-pong mode)', raw);
  const runtime = toNumber(ENGINE, 'RunTime', valid[1], raw);
  const received = toNumber(ENGINE, 'ReceivedMessages', valid[3], raw);
  if (runtime === 0) throw new WorkloadParseError(ENGINE, 'valid RunTime is 0 s', raw);
  // --full-rtt prints "avg-rtt"; without it sockperf prints half the round trip as "avg-latency".
  const avg = /avg-rtt=(\S+)/.exec(text);
  if (!avg) throw new WorkloadParseError(ENGINE, 'no "avg-rtt=" (was --full-rtt given?)', raw);
  const m: Metrics = {
    transactions_per_s: received / runtime,
    latency_mean_us: toNumber(ENGINE, 'avg-rtt', avg[1], raw),
  };
  const pct: [string, 'latency_p50_us' | 'latency_p90_us' | 'latency_p99_us'][] = [
    ['50.000', 'latency_p50_us'],
    ['90.000', 'latency_p90_us'],
    ['99.000', 'latency_p99_us'],
  ];
  for (const [p, name] of pct) {
    const line = new RegExp(`percentile ${p.replace('.', '\\.')} =\\s*(\\S+)`).exec(text);
    if (!line) throw new WorkloadParseError(ENGINE, `no "percentile ${p}" line`, raw);
    m[name] = toNumber(ENGINE, `percentile ${p}`, line[1], raw);
  }
  if (udp) {
    const dropped = /# dropped messages = (\d+)/.exec(text);
    const sent = toNumber(ENGINE, 'SentMessages', valid[2], raw);
    if (dropped && sent > 0) m.loss_pct = (Number(dropped[1]) / sent) * 100;
  }
  return m;
}
