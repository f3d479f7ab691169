// One measured iteration: the engine's run with the Sampler's window inside it. This is the
// `measureOnce` the method (harness/method) schedules; the caller owns servers and sides.
import type { Metrics } from '../results/metrics.ts';
import type { Sampler } from '../metrics/sampler.ts';
import type { Snapshot } from '../metrics/snapshot.ts';
import { runClients, type Sides } from './runner.ts';
import type { Side, WorkloadEngine, WorkloadSpec } from './types.ts';

export interface IterationResult {
  metrics: Metrics;
  /** Accounting problems found by the sampler (warnings for the cell). */
  problems: string[];
  raw: string[];
  commands: string[][];
  clientSide: Side;
  windowS: number;
  /** Seconds the clients took from start to end (what the stall watch learns from). */
  elapsedS: number;
}

export async function measureIteration(
  engine: WorkloadEngine,
  spec: WorkloadSpec,
  sides: Sides,
  sampler: Sampler,
  opts: { timeoutMs?: number } = {},
): Promise<IterationResult> {
  let a: Snapshot | undefined;
  let b: Snapshot | undefined;
  // Clients on the peer are peer workload processes too (servers are in the sampler's targets).
  const peerClients = (pids: number[]) => (engine.clientSide(spec) === 'peer' ? { peerPids: pids } : {});
  const run = await runClients(engine, spec, sides, {
    timeoutMs: opts.timeoutMs,
    hooks: {
      open: async (pids) => void (a = await sampler.snapshot('open', peerClients(pids))),
      close: async (pids) => void (b = await sampler.snapshot('close', peerClients(pids))),
    },
  });
  if (!a || !b) throw new Error('measurement window did not open and close');
  const w = sampler.window(a, b, spec.workload, run.metrics);
  return {
    metrics: { ...run.metrics, ...w.metrics },
    problems: w.problems,
    raw: run.raw,
    commands: run.commands,
    clientSide: run.clientSide,
    windowS: w.windowS,
    elapsedS: run.elapsedS,
  };
}
