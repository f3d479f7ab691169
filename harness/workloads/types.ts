// A workload engine turns (workload, size, duration, streams) into a server command for the peer,
// a client command for the guest, and parses the client's machine-readable output.
import type { EngineName, WorkloadName } from '../config/schema.ts';
import type { Metrics } from '../results/metrics.ts';

export interface WorkloadSpec {
  workload: WorkloadName;
  /** Message size in bytes: send size for streams, request=response size for RR/CRR. */
  size: number;
  durationS: number;
  streams: number;
  /** Address of the server side (the peer). */
  serverIp: string;
}

export interface EngineCommand {
  argv: string[];
}

export interface WorkloadEngine {
  name: EngineName;
  /** undefined when supported, else why not (e.g. "sockperf has no TCP_CRR"). */
  unsupported(workload: WorkloadName): string | undefined;
  /** Long-running server started once per peer (netserver, iperf3 -s, sockperf server). */
  server(listenIp: string): EngineCommand;
  /** TCP/UDP port the server listens on, to wait for readiness. */
  serverPort: number;
  /** One client invocation per stream, run in the guest. */
  client(spec: WorkloadSpec, stream: number): EngineCommand;
  /** Parse one client's output into metrics; throws with the offending text when it cannot. */
  parse(stdout: string, spec: WorkloadSpec): Metrics;
  /** Combine per-stream metrics (sum rates, average latencies). */
  combine(perStream: Metrics[]): Metrics;
}
