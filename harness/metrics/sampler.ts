// The Sampler: one snapshot when the measurement window opens, one when it closes, and the metric
// record from the pair. Host reads are synchronous procfs reads; guest texts come from the agent
// (or anything with readFile), fetched concurrently with the host read so both describe the same
// moment as closely as the agent's latency allows.
import type { WorkloadName } from '../config/schema.ts';
import type { Metrics } from '../results/metrics.ts';
import { accountingProblems, computeMetrics, qemuBreakdown, type GuestCounterOptions } from './compute.ts';
import { readHostSnapshot, type HostTargets, type Phase } from './reader.ts';
import type { GuestSnapshot, HostSnapshot, Snapshot } from './snapshot.ts';

export interface GuestSource extends GuestCounterOptions {
  readFile(path: string): Promise<string>;
}

export interface SamplerTargets extends HostTargets {
  guest?: GuestSource;
}

export interface WindowResult {
  metrics: Metrics;
  /** Accounting inconsistencies (should be empty); the caller records them as warnings. */
  problems: string[];
  windowS: number;
}

async function readGuest(g: GuestSource): Promise<GuestSnapshot> {
  // One after another, stat first: the guest's tick count dates the counters read right after it.
  const stat = await g.readFile('/proc/stat');
  const netdev = await g.readFile('/proc/net/dev');
  const interrupts = await g.readFile('/proc/interrupts');
  return { stat, netdev, interrupts };
}

export class Sampler {
  constructor(
    readonly targets: SamplerTargets,
    private readonly readHost: (t: HostTargets, phase: Phase) => HostSnapshot = readHostSnapshot,
  ) {}

  /** `peerPids` adds processes that exist only for this window (e.g. clients running on the peer). */
  async snapshot(phase: Phase, extra: { peerPids?: readonly number[] } = {}): Promise<Snapshot> {
    const targets: HostTargets = {
      ...this.targets,
      peerPids: [...(this.targets.peerPids ?? []), ...(extra.peerPids ?? [])],
    };
    const guest = this.targets.guest ? readGuest(this.targets.guest) : undefined;
    const host = this.readHost(targets, phase);
    return { host, guest: guest ? await guest : undefined };
  }

  window(a: Snapshot, b: Snapshot, workload: WorkloadName, engine: Metrics): WindowResult {
    const metrics = computeMetrics(a, b, workload, engine, this.targets.guest);
    const windowS = (b.host.atMs - a.host.atMs) / 1000;
    const problems = accountingProblems(metrics, qemuBreakdown(a.host, b.host), { seconds: windowS, hz: b.host.hz });
    return { metrics, problems, windowS };
  }
}
