// The cells a run planned, from the configuration its manifest recorded: what the outcome
// classifier (results/outcomes.ts) counts against, so a backend that never booted still counts
// each of its cells. Undefined when the manifest holds no benchmark configuration this schema reads.
import { RunConfigSchema } from '../config/schema.ts';
import type { CellKey, RunManifest } from '../results/types.ts';
import { planRun } from './plan.ts';

export function plannedCells(manifest: Pick<RunManifest, 'kind' | 'config'>): CellKey[] | undefined {
  if (manifest.kind !== 'benchmark') return undefined;
  const r = RunConfigSchema.safeParse(manifest.config);
  if (!r.success) return undefined;
  return planRun(r.data).backends.flatMap((b) => b.cells);
}
