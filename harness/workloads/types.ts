// A workload engine turns (workload, size, duration, streams, direction) into server commands for
// one side, client commands for the other, and parses each client's machine-readable output.
//
// Sides: the guest (through its agent) and the peer (a namespace or a remote host). Most workloads
// run the client in the guest and the server on the peer; when the data must flow peer -> guest
// and the tool cannot reverse itself (netperf UDP_STREAM, sockperf throughput), the engine puts
// the client on the peer and the server in the guest. `clientSide` says which.
import type { EngineName, WorkloadName } from '../config/schema.ts';
import type { Metrics } from '../results/metrics.ts';

export type Side = 'guest' | 'peer';

/** Which way the payload flows. Fixed by the name for every workload except UDP_STREAM. */
export type Direction = 'guest-to-peer' | 'peer-to-guest';

export interface WorkloadSpec {
  workload: WorkloadName;
  /** Message size in bytes: send size for streams, request=response size for RR/CRR. */
  size: number;
  durationS: number;
  streams: number;
  /** UDP_STREAM only (default guest-to-peer); ignored by the other workloads, whose name fixes it. */
  direction?: Direction;
  /** Address of the side running the server: the peer, or the guest when clientSide is 'peer'. */
  serverIp: string;
}

export interface EngineCommand {
  argv: string[];
}

export interface ServerCommand extends EngineCommand {
  /** Port to wait on before starting clients. */
  port: number;
  proto: 'tcp' | 'udp';
}

/** Which tool binary, on which side. The engines never hard-code paths (see binaries.ts). */
export type ToolName = 'netperf' | 'netserver' | 'iperf3' | 'sockperf';
export type ToolResolver = (tool: ToolName, side: Side) => string;

export interface WorkloadEngine {
  name: EngineName;
  /** undefined when supported, else why not (e.g. "sockperf has no TCP_CRR"). */
  unsupported(spec: Pick<WorkloadSpec, 'workload' | 'size' | 'direction'>): string | undefined;
  /**
   * Seconds from starting a client to the start of its timed run (sockperf sleeps ~2 s before
   * "Starting test"); the runner's measurement window is placed after it.
   */
  startupS: number;
  /** Side that runs the clients; the servers run on the other one. */
  clientSide(spec: Pick<WorkloadSpec, 'workload' | 'direction'>): Side;
  /**
   * Long-running servers to start on the server side before the clients (kept across
   * iterations of a cell). netperf needs one foreground netserver per stream (see netperf.ts).
   */
  servers(listenIp: string, spec: WorkloadSpec): ServerCommand[];
  /** Client processes, started together; each one's stdout goes to `parse`. */
  clients(spec: WorkloadSpec): EngineCommand[];
  /** Parse one client's output into metrics; throws WorkloadParseError quoting the offending text. */
  parse(stdout: string, spec: WorkloadSpec): Metrics;
  /** Combine per-client metrics (sum rates, transaction-weighted mean latency, max percentiles). */
  combine(perClient: Metrics[]): Metrics;
}

/** The data direction a workload implies. */
export function directionOf(spec: Pick<WorkloadSpec, 'workload' | 'direction'>): Direction | 'both' {
  switch (spec.workload) {
    case 'TCP_STREAM':
      return 'guest-to-peer';
    case 'TCP_MAERTS':
      return 'peer-to-guest';
    case 'UDP_STREAM':
      return spec.direction ?? 'guest-to-peer';
    case 'TCP_RR':
    case 'TCP_CRR':
    case 'UDP_RR':
      return 'both';
  }
}

export function isStream(workload: WorkloadName): boolean {
  return workload === 'TCP_STREAM' || workload === 'TCP_MAERTS' || workload === 'UDP_STREAM';
}

/** The metric a cell is judged by: bits/s for streams, transactions/s for RR and CRR. */
export function primaryMetric(workload: WorkloadName): 'throughput_bps' | 'transactions_per_s' {
  return isStream(workload) ? 'throughput_bps' : 'transactions_per_s';
}

/** Directions a workload can be measured in (UDP_STREAM both; the rest one, fixed by name). */
export function directionsOf(workload: WorkloadName): (Direction | undefined)[] {
  return workload === 'UDP_STREAM' ? ['guest-to-peer', 'peer-to-guest'] : [undefined];
}
