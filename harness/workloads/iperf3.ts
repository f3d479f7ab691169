// iperf3, an alternate engine for bulk throughput: TCP_STREAM, TCP_MAERTS (-R) and UDP_STREAM in
// both directions (-R reverses it), always with the client in the guest. iperf3 has no
// request/response mode, so TCP_RR, TCP_CRR and UDP_RR are unsupported. Parallel streams are one
// client with -P. Output: `--json`, read from `end`: the receiver's totals for throughput (what
// arrived, not what was offered), the sender's for TCP retransmits, the receiver's for UDP loss.
import type { Metrics } from '../results/metrics.ts';
import { wholeSeconds } from './netperf.ts';
import { combineMetrics, toNumber, WorkloadParseError } from './parse.ts';
import { directionOf, type ToolResolver, type WorkloadEngine, type WorkloadSpec } from './types.ts';

export const IPERF3_PORT = 5201;
const ENGINE = 'iperf3';
const UDP_MAX = 65507;

export function iperf3Engine(tools: ToolResolver): WorkloadEngine {
  return {
    name: 'iperf3',
    startupS: 0,
    unsupported(spec) {
      if (spec.workload.endsWith('_RR') || spec.workload === 'TCP_CRR') {
        return `iperf3 has no request/response mode (bulk transfer only), so it cannot run ${spec.workload}; use netperf or sockperf`;
      }
      if (spec.workload === 'UDP_STREAM' && spec.size > UDP_MAX) {
        return `iperf3 UDP_STREAM: ${spec.size} bytes exceeds the largest UDP payload (${UDP_MAX})`;
      }
      return undefined;
    },
    clientSide: () => 'guest',
    servers(listenIp) {
      // One server serves one test at a time; -P streams share it. Foreground, so its pid is ours.
      return [{ argv: [tools('iperf3', 'peer'), '-s', '-B', listenIp, '-p', String(IPERF3_PORT)], port: IPERF3_PORT, proto: 'tcp' }];
    },
    clients(spec) {
      const udp = spec.workload === 'UDP_STREAM';
      return [
        {
          argv: [
            tools('iperf3', 'guest'),
            '-c', spec.serverIp,
            '-p', String(IPERF3_PORT),
            '-t', String(wholeSeconds(spec.durationS)),
            '-l', String(spec.size),
            '--json',
            ...(spec.streams > 1 ? ['-P', String(spec.streams)] : []),
            ...(directionOf(spec) === 'peer-to-guest' ? ['-R'] : []),
            // -b 0: unlimited; iperf3's UDP default is 1 Mbit/s, which would measure nothing.
            ...(udp ? ['-u', '-b', '0'] : []),
          ],
        },
      ];
    },
    parse: parseIperf3,
    combine: combineMetrics,
  };
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

export function parseIperf3(stdout: string, spec: Pick<WorkloadSpec, 'workload'>): Metrics {
  let doc: Json | undefined;
  try {
    doc = obj(JSON.parse(stdout));
  } catch (e) {
    throw new WorkloadParseError(ENGINE, `output is not JSON (${(e as Error).message})`, stdout);
  }
  if (!doc) throw new WorkloadParseError(ENGINE, 'output is not a JSON object', stdout);
  if (typeof doc.error === 'string') throw new WorkloadParseError(ENGINE, `iperf3 reported: ${doc.error}`, stdout);
  const end = obj(doc.end);
  if (!end) throw new WorkloadParseError(ENGINE, 'no "end" object', stdout);
  const field = (o: Json | undefined, path: string, key: string) =>
    toNumber(ENGINE, `${path}.${key}`, o?.[key] === undefined ? undefined : String(o[key]), stdout);

  if (spec.workload === 'UDP_STREAM') {
    // 3.12 has end.sum_received for UDP (the receiver's bytes); older ones only end.sum.
    const recv = obj(end.sum_received) ?? obj(end.sum);
    const sum = obj(end.sum) ?? recv;
    return {
      throughput_bps: field(recv, 'end.sum_received', 'bits_per_second'),
      loss_pct: field(sum, 'end.sum', 'lost_percent'),
    };
  }
  const m: Metrics = { throughput_bps: field(obj(end.sum_received), 'end.sum_received', 'bits_per_second') };
  const sent = obj(end.sum_sent);
  if (sent?.retransmits !== undefined) m.retransmits = field(sent, 'end.sum_sent', 'retransmits');
  return m;
}
