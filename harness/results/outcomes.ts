// What became of each planned cell: measured, errored, skipped or unfinished. The one classifier
// the terminal summary and every report format share, so their counts cannot disagree.
//
// Precedence, per cell: a `cell` summary record makes it measured (errors of earlier attempts,
// e.g. a retry after a reboot, become notes); else an error naming the cell, a skip naming it, an
// error covering its backend/workload, a skip covering it; else it is unfinished (never reached,
// or cut off without a summary). Partial iterations never make a cell measured.
import { cellId, type CellKey, type ResultRecord, type RunManifest } from './types.ts';

export const CELL_OUTCOMES = ['measured', 'errored', 'skipped', 'unfinished'] as const;
export type CellOutcome = (typeof CELL_OUTCOMES)[number];

type ErrorRecord = Extract<ResultRecord, { type: 'error' }>;
type SkipRecord = Extract<ResultRecord, { type: 'skip' }>;

/** A skip/error record's scope: a cell, a backend's workload, or a whole backend. */
export interface Scoped {
  backend: string;
  workload?: string;
  cell?: CellKey;
}

export interface CellStatus {
  id: string;
  key: CellKey;
  outcome: CellOutcome;
  /** errored: the errors that stopped it; measured: errors of earlier attempts (retried, recovered). */
  errors: string[];
  /** skipped: why. */
  reason?: string;
  /** Distinct iteration numbers recorded, a failed attempt's partial ones included. */
  iterations: number;
}

export interface Classification {
  /** Planned cells in plan order, then cells only the records name, in record order. */
  cells: CellStatus[];
  counts: Record<CellOutcome, number> & { total: number };
  /** Errors no errored cell accounts for and no retry recovered (a failed teardown, say). */
  unattributed: ErrorRecord[];
}

/** The cell id a record names: its `cell`, or (older runs) a cell id held in `workload`. */
export function namedCell(r: Scoped): string | undefined {
  if (r.cell) return cellId(r.cell);
  return r.workload?.startsWith(`${r.backend}/`) ? r.workload : undefined;
}

/** Whether a record's scope covers a cell: the cell itself, its backend's workload, or the backend. */
export function covers(r: Scoped, key: CellKey, id = cellId(key)): boolean {
  const named = namedCell(r);
  if (named) return named === id;
  return r.backend === key.backend && (r.workload === undefined || r.workload === key.workload);
}

export function classifyCells(records: readonly ResultRecord[], planned: readonly CellKey[] = []): Classification {
  const keys = new Map<string, CellKey>();
  for (const k of planned) keys.set(cellId(k), k);
  const summarized = new Set<string>();
  const iterations = new Map<string, Set<number>>();
  const errors: ErrorRecord[] = [];
  const skips: SkipRecord[] = [];
  for (const r of records) {
    if (r.type === 'iteration' || r.type === 'cell') {
      const id = cellId(r.cell);
      if (!keys.has(id)) keys.set(id, r.cell);
      if (r.type === 'cell') summarized.add(id);
      else iterations.set(id, (iterations.get(id) ?? new Set()).add(r.iteration));
    } else if (r.type === 'error' || r.type === 'skip') {
      if (r.cell && !keys.has(cellId(r.cell))) keys.set(cellId(r.cell), r.cell);
      if (r.type === 'error') errors.push(r);
      else skips.push(r);
    }
  }
  const attributed = new Set<ErrorRecord>();
  const cells = [...keys].map(([id, key]): CellStatus => {
    const named = errors.filter((e) => namedCell(e) === id);
    const base = { id, key, iterations: iterations.get(id)?.size ?? 0 };
    if (summarized.has(id)) {
      named.forEach((e) => attributed.add(e));
      return { ...base, outcome: 'measured', errors: named.map((e) => e.message) };
    }
    const byName = (xs: readonly Scoped[]) => xs.filter((x) => namedCell(x) === id);
    const byScope = (xs: readonly Scoped[]) => xs.filter((x) => !namedCell(x) && covers(x, key, id));
    const skipNamed = byName(skips) as SkipRecord[];
    const errScope = byScope(errors) as ErrorRecord[];
    const stopped = named.length ? named : skipNamed.length ? [] : errScope;
    if (stopped.length) {
      stopped.forEach((e) => attributed.add(e));
      return { ...base, outcome: 'errored', errors: stopped.map((e) => e.message) };
    }
    const skip = skipNamed[0] ?? (byScope(skips)[0] as SkipRecord | undefined);
    if (skip) return { ...base, outcome: 'skipped', errors: [], reason: skip.reason };
    return { ...base, outcome: 'unfinished', errors: [] };
  });
  const counts = { total: cells.length, measured: 0, errored: 0, skipped: 0, unfinished: 0 };
  for (const c of cells) counts[c.outcome]++;
  return { cells, counts, unattributed: errors.filter((e) => !attributed.has(e)) };
}

/**
 * The status to show: a run recorded as complete that holds errors is complete-with-errors,
 * whatever an older harness wrote into its manifest.
 */
export function effectiveStatus(status: RunManifest['status'], c: Classification): RunManifest['status'] {
  return status === 'complete' && (c.counts.errored > 0 || c.unattributed.length > 0) ? 'complete-with-errors' : status;
}

/** "22 measured, 1 errored, 8 skipped of 31 cells": the same words in the terminal and the report. */
export function countsText(c: Classification['counts']): string {
  const parts = [`${c.measured} measured`, `${c.errored} errored`, `${c.skipped} skipped`];
  if (c.unfinished) parts.push(`${c.unfinished} unfinished`);
  return `${parts.join(', ')} of ${c.total} cell${c.total === 1 ? '' : 's'}`;
}
