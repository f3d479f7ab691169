// The run-directory format shared by benchmarks, conformance and reports.
//
//   RUN_DIR/manifest.json    RunManifest: host, versions, config, capabilities (written at start,
//                            rewritten when it grows)
//   RUN_DIR/results.jsonl    one ResultRecord per line, appended and fsync'd as produced, so a
//                            crash loses at most the cell in flight
//   RUN_DIR/commands.jsonl   every command the run executed, with exit code and duration
//   RUN_DIR/logs/            QEMU consoles, backend logs
import type { Metrics } from './metrics.ts';

export const RUN_SCHEMA = 'vnetbench.run/1';

export interface HostInfo {
  hostname: string;
  kernel: string;
  cpuModel: string;
  cpus: number;
  memMiB: number;
  os: string;
}

export interface Capability {
  /** A backend, or a conformance DUT/transport, or a feature like "kvm". */
  name: string;
  runnable: boolean;
  reason: string;
  /** What to install or enable when not runnable. */
  fix?: string;
}

export interface RunManifest {
  schema: typeof RUN_SCHEMA;
  runId: string;
  kind: 'benchmark' | 'conformance';
  createdAt: string;
  finishedAt?: string;
  /** complete-with-errors: every planned cell was attempted, but error records exist (exit 1). */
  status: 'running' | 'complete' | 'complete-with-errors' | 'failed' | 'interrupted';
  host: HostInfo;
  tool: { version: string; node: string };
  versions: Record<string, string>; // qemu, guest kernel, netperf, testpmd ...
  accel?: 'kvm' | 'tcg';
  config: unknown;
  capabilities: Capability[];
  /** QEMU and daemon command lines, per backend. */
  commandLines: Record<string, string[]>;
}

/** Identifies one benchmark cell: everything that varies across the matrix. */
export interface CellKey {
  backend: string;
  workload: string;
  size: number;
  offloads: 'on' | 'off';
  streams: number;
  queues: number;
  engine: string;
  /** UDP_STREAM only: which way the datagrams flow (the other workloads' names fix it). */
  direction?: 'guest-to-peer' | 'peer-to-guest';
}

export function cellId(c: CellKey): string {
  const w = c.direction ? `${c.workload}:${c.direction}` : c.workload;
  return `${c.backend}/${w}/${c.size}/offloads-${c.offloads}/s${c.streams}/q${c.queues}/${c.engine}`;
}

export interface MetricSummary {
  n: number;
  mean: number;
  stddev: number;
  /** Confidence interval of the mean at `level`. */
  ciLow: number;
  ciHigh: number;
  level: number;
}

export type ResultRecord =
  | {
      type: 'iteration';
      cell: CellKey;
      iteration: number;
      /** The cell's try this iteration belongs to (2 after a stall and reboot); absent means 1. */
      attempt?: number;
      startedAt: string;
      durationS: number;
      metrics: Metrics;
      /** Raw engine output kept for audit (trimmed). */
      raw?: string;
    }
  | {
      type: 'cell';
      cell: CellKey;
      summary: Partial<Record<keyof Metrics, MetricSummary>>;
      /** When iterating to a confidence target: whether it was reached. */
      confidence?: { level: number; widthPct: number; reached: boolean; iterations: number };
      warnings: string[];
    }
  | { type: 'boot'; backend: string; bootToReadyS: number; accel: 'kvm' | 'tcg' }
  | { type: 'skip'; backend: string; workload?: string; cell?: CellKey; reason: string }
  | {
      type: 'error';
      backend: string;
      workload?: string;
      cell?: CellKey;
      message: string;
      /** Which try of the cell failed (1, or 2 after a reboot); absent for backend-level errors. */
      attempt?: number;
      /** What happened next: the guest was rebooted and the cell retried, or the backend given up. */
      next?: 'retried' | 'abandoned';
      /** A stalled guest: what was awaited and what guest, host, peer and the virtio rings showed. */
      stall?: Record<string, unknown>;
    }
  | ConformanceRecord
  | ConformanceFindingRecord;

export type ConformanceOutcome = 'pass' | 'fail' | 'warn' | 'skip';

export interface ConformanceRecord {
  type: 'conformance';
  dut: string;
  transport: string;
  requirement: string; // catalogue ID: F1, S4, N3 ...
  section: string; // spec section, v1.2-cs01 numbering
  level: 'MUST' | 'SHOULD';
  title: string;
  outcome: ConformanceOutcome;
  /** Expected vs observed for fail/warn; the reason for skip; what was checked for pass. */
  evidence: string;
  durationMs: number;
  /** Set by judgeConformance: what other checks saw breaking this requirement (finding records). */
  seen?: SeenElsewhere[];
  /** The check's own outcome, when findings elsewhere changed `outcome`. */
  checkOutcome?: ConformanceOutcome;
}

/** Where and when a requirement was seen broken outside its own verdict. */
export interface SeenElsewhere {
  /** The check running when it was seen. */
  check: string;
  /** Ring (queue) index: 2k RX, 2k+1 TX. */
  ring: number;
  /** Milliseconds after that check started (the first sighting). */
  atMs: number;
  /** The first sighting. */
  text: string;
  /** Sightings during that check. */
  count: number;
}

/**
 * A requirement seen broken while some check ran (any check: its rigs watch every ring), written
 * as soon as that check ends. judgeConformance folds these into the requirement's outcome.
 */
export interface ConformanceFindingRecord extends SeenElsewhere {
  type: 'conformance-finding';
  dut: string;
  transport: string;
  requirement: string;
  section: string;
  level: 'MUST' | 'SHOULD';
  title: string;
}
