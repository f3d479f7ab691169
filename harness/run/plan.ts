// plan: turn a validated RunConfig into the ordered list of what to measure. Pure: no probing,
// no side effects. One guest boot per backend serves all of its cells.
import type { BackendName, RunConfig, WorkloadName } from '../config/schema.ts';
import { cellId, type CellKey } from '../results/types.ts';
import { directionsOf } from '../workloads/types.ts';

export interface BackendPlan {
  backend: BackendName;
  cells: CellKey[];
}

export interface Plan {
  backends: BackendPlan[];
  totalCells: number;
  /** Iterations per cell including the confidence loop's maximum. */
  maxIterationsPerCell: number;
}

export function planRun(config: RunConfig): Plan {
  const backends = config.backends.map((backend) => ({
    backend,
    cells: cellsFor(backend, config),
  }));
  const maxIter = config.confidence ? Math.max(config.iterations, config.confidence.maxIterations) : config.iterations;
  return {
    backends,
    totalCells: backends.reduce((n, b) => n + b.cells.length, 0),
    maxIterationsPerCell: maxIter,
  };
}

function cellsFor(backend: BackendName, c: RunConfig): CellKey[] {
  const cells: CellKey[] = [];
  // Offloads outermost: toggling them is a guest+host reconfiguration, done once per value.
  for (const offloads of c.offloads)
    for (const workload of c.workloads as WorkloadName[])
      for (const direction of directionsOf(workload))
        for (const size of c.sizes)
          cells.push({
            backend,
            workload,
            size,
            offloads,
            streams: c.streams,
            queues: c.queues,
            engine: c.engine,
            ...(direction ? { direction } : {}),
          });
  return cells;
}

/** Cells already summarised in an earlier attempt of the same run (for --resume). */
export function remainingCells(plan: BackendPlan, done: ReadonlySet<string>): CellKey[] {
  return plan.cells.filter((c) => !done.has(cellId(c)));
}
