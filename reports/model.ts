// The normalized report document: one shape that every exporter (JSON, CSV, JUnit, HTML) reads.
// Built from a run directory: manifest + results.jsonl (+ commands.jsonl when present).
// Summaries are recomputed from the iteration samples, so every exporter shows the same numbers
// whatever the run wrote in its own `cell` records (those still supply confidence and warnings).
// Only measured cells (harness/results/outcomes.ts) are in `cells`: an errored cell's partial
// iterations are no measurement, and `outcomes` says what became of every planned cell.
import fs from 'node:fs';
import path from 'node:path';
import { WORKLOADS } from '../harness/config/schema.ts';
import { METRICS, type MetricInfo, type MetricName, type Metrics } from '../harness/results/metrics.ts';
import { classifyCells, effectiveStatus, namedCell, type CellStatus, type Classification } from '../harness/results/outcomes.ts';
import { judgeConformance } from '../harness/results/conformance.ts';
import { cellId, type CellKey, type Capability, type ConformanceRecord, type MetricSummary, type RunManifest, type ResultRecord } from '../harness/results/types.ts';
import type { RunData } from '../harness/results/rundir.ts';
import { plannedCells } from '../harness/run/planned.ts';
import { summarize } from '../harness/stats/summary.ts';

export const REPORT_SCHEMA = 'vnetbench.report/1';

export interface IterationRow {
  iteration: number;
  startedAt: string;
  durationS: number;
  metrics: Metrics;
}

export interface CellReport {
  id: string;
  key: CellKey;
  iterations: IterationRow[];
  /** Mean, stddev and confidence interval per metric, from the iteration samples. */
  summary: Partial<Record<MetricName, MetricSummary>>;
  confidence?: { level: number; widthPct: number; reached: boolean; iterations: number };
  warnings: string[];
  /** Errors of earlier attempts at this cell that a retry recovered from (not failures). */
  recovered: string[];
}

/** An error record, and what it did to the cells. */
export interface ErrorEntry {
  backend: string;
  workload?: string;
  /** The cell id, when the record names one cell. */
  cell?: string;
  message: string;
  /** errored: it stopped cells; recovered: its cell was measured on a retry; unattributed: no cell (e.g. teardown). */
  effect: 'errored' | 'recovered' | 'unattributed';
}

export interface CommandRow {
  argv: string[];
  code: number | null;
  signal: string | null;
  durationMs: number;
  at?: string;
  stderrTail?: string;
}

export interface ConformanceReport {
  /** Column keys of the matrix: "dut (transport)". */
  duts: string[];
  /** Row keys, in catalogue order (F, S, I, N, P, O, H, M, then number). */
  requirements: { id: string; section: string; level: 'MUST' | 'SHOULD'; title: string }[];
  results: (ConformanceRecord & { column: string })[];
  counts: Record<string, Record<ConformanceRecord['outcome'], number>>;
}

export interface ReportDoc {
  schema: typeof REPORT_SCHEMA;
  generatedAt: string;
  /** Confidence level of every summary interval in this document. */
  level: number;
  runDir: string;
  manifest: RunManifest;
  /** The manifest's status, or complete-with-errors for a "complete" run that holds errors. */
  status: RunManifest['status'];
  commands: CommandRow[];
  capabilities: Capability[];
  boots: { backend: string; bootToReadyS: number; accel: 'kvm' | 'tcg' }[];
  skips: { backend: string; workload?: string; cell?: string; reason: string }[];
  errors: ErrorEntry[];
  /** Every planned cell (or every cell the records name, when the plan is unknown) and its outcome. */
  outcomes: CellStatus[];
  counts: Classification['counts'];
  /** Catalogue entries of the metrics that occur in this run, in catalogue order. */
  metrics: Partial<Record<MetricName, MetricInfo>>;
  /** Measured cells only. */
  cells: CellReport[];
  conformance: ConformanceReport;
}

const REQUIREMENT_GROUPS = ['F', 'S', 'I', 'N', 'P', 'O', 'H', 'M'];

export function requirementOrder(a: string, b: string): number {
  const ga = REQUIREMENT_GROUPS.indexOf(a.replace(/\d.*$/, ''));
  const gb = REQUIREMENT_GROUPS.indexOf(b.replace(/\d.*$/, ''));
  if (ga !== gb) return (ga < 0 ? 99 : ga) - (gb < 0 ? 99 : gb);
  const na = Number(/\d+/.exec(a)?.[0] ?? NaN);
  const nb = Number(/\d+/.exec(b)?.[0] ?? NaN);
  if (na !== nb && !Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  return a.localeCompare(b);
}

/** Matrix order: workload (catalogue order), direction, backend (first appearance), size, then the rest. */
function cellOrder(backends: string[]): (a: { key: CellKey }, b: { key: CellKey }) => number {
  const w = (x: string) => {
    const i = (WORKLOADS as readonly string[]).indexOf(x);
    return i < 0 ? 99 : i;
  };
  return (a, b) =>
    w(a.key.workload) - w(b.key.workload) ||
    a.key.workload.localeCompare(b.key.workload) ||
    (a.key.direction ?? '').localeCompare(b.key.direction ?? '') ||
    backends.indexOf(a.key.backend) - backends.indexOf(b.key.backend) ||
    a.key.size - b.key.size ||
    a.key.offloads.localeCompare(b.key.offloads) ||
    a.key.streams - b.key.streams ||
    a.key.queues - b.key.queues ||
    a.key.engine.localeCompare(b.key.engine);
}

function readCommands(dir: string): CommandRow[] {
  const file = path.join(dir, 'commands.jsonl');
  if (!fs.existsSync(file)) return [];
  const rows: CommandRow[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line) as CommandRow);
    } catch {
      // A torn last line from a crash; the rest is intact.
    }
  }
  return rows;
}

function cellsFrom(records: ResultRecord[], level: number): CellReport[] {
  const byId = new Map<string, CellReport>();
  const get = (key: CellKey) => {
    const id = cellId(key);
    let c = byId.get(id);
    if (!c) {
      c = { id, key, iterations: [], summary: {}, warnings: [], recovered: [] };
      byId.set(id, c);
    }
    return c;
  };
  const fromCellRecord = new Map<string, Partial<Record<MetricName, MetricSummary>>>();
  for (const r of records) {
    if (r.type === 'iteration') {
      // A resumed run may repeat an iteration number: the later record wins.
      const c = get(r.cell);
      c.iterations = c.iterations.filter((i) => i.iteration !== r.iteration);
      c.iterations.push({ iteration: r.iteration, startedAt: r.startedAt, durationS: r.durationS, metrics: r.metrics });
    } else if (r.type === 'cell') {
      const c = get(r.cell);
      if (r.confidence) c.confidence = r.confidence;
      c.warnings.push(...r.warnings);
      fromCellRecord.set(c.id, r.summary);
    } else if (r.type === 'error' && namedCell(r)) {
      // A failed attempt's partial samples are not part of a later (retried) measurement.
      const c = byId.get(namedCell(r)!);
      if (c) c.iterations = [];
    }
  }
  for (const c of byId.values()) {
    c.iterations.sort((a, b) => a.iteration - b.iteration);
    for (const name of Object.keys(METRICS) as MetricName[]) {
      const xs = c.iterations.map((i) => i.metrics[name]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      if (xs.length) c.summary[name] = summarize(xs, level);
      // A cell record without its iterations (hand-merged runs): keep what it says.
      else if (fromCellRecord.get(c.id)?.[name]) c.summary[name] = fromCellRecord.get(c.id)![name];
    }
  }
  return [...byId.values()];
}

function conformanceFrom(records: ResultRecord[]): ConformanceReport {
  const results = judgeConformance(records).map((r) => ({ ...r, column: `${r.dut} (${r.transport})` }));
  const duts = [...new Set(results.map((r) => r.column))];
  const reqs = new Map<string, ConformanceReport['requirements'][number]>();
  for (const r of results) {
    if (!reqs.has(r.requirement)) reqs.set(r.requirement, { id: r.requirement, section: r.section, level: r.level, title: r.title });
  }
  const counts: ConformanceReport['counts'] = {};
  for (const d of duts) counts[d] = { pass: 0, fail: 0, warn: 0, skip: 0 };
  for (const r of results) counts[r.column][r.outcome]++;
  return {
    duts,
    requirements: [...reqs.values()].sort((a, b) => requirementOrder(a.id, b.id)),
    results,
    counts,
  };
}

/** The cell id when the entry names one, else "copy/TCP_CRR" or "copy/*". */
export function scopeLabel(r: { backend: string; workload?: string; cell?: string }): string {
  if (r.cell) return r.cell;
  if (r.workload?.startsWith(`${r.backend}/`)) return r.workload;
  return `${r.backend}/${r.workload ?? '*'}`;
}

/** The workload a skip/error record names, whether it holds a workload or a cell id. */
export function scopeWorkload(r: { backend: string; workload?: string }): string | undefined {
  return r.workload?.startsWith(`${r.backend}/`) ? r.workload.split('/')[1] : r.workload;
}

function errorEntries(records: ResultRecord[], cls: Classification): ErrorEntry[] {
  const measured = new Set(cls.cells.filter((c) => c.outcome === 'measured').map((c) => c.id));
  const unattributed = new Set(cls.unattributed);
  return records.flatMap((r): ErrorEntry[] => {
    if (r.type !== 'error') return [];
    const cell = namedCell(r);
    const effect = unattributed.has(r) ? 'unattributed' : cell && measured.has(cell) ? 'recovered' : 'errored';
    return [{ backend: r.backend, ...(r.workload !== undefined ? { workload: r.workload } : {}), ...(cell ? { cell } : {}), message: r.message, effect }];
  });
}

export function buildReport(run: RunData, level = 0.95): ReportDoc {
  const { records, manifest } = run;
  const cls = classifyCells(records, plannedCells(manifest));
  const measured = new Set(cls.cells.filter((c) => c.outcome === 'measured').map((c) => c.id));
  const cells = cellsFrom(records, level).filter((c) => measured.has(c.id));
  const backends = [...new Set([...manifest.capabilities.map((c) => c.name), ...cls.cells.map((c) => c.key.backend)])];
  cells.sort(cellOrder(backends));
  const outcomes = [...cls.cells].sort(cellOrder(backends));
  for (const c of cells) c.recovered = outcomes.find((o) => o.id === c.id)!.errors;
  const used = new Set(cells.flatMap((c) => Object.keys(c.summary)));
  const metrics: ReportDoc['metrics'] = {};
  for (const [name, info] of Object.entries(METRICS) as [MetricName, MetricInfo][]) if (used.has(name)) metrics[name] = info;
  return {
    schema: REPORT_SCHEMA,
    generatedAt: new Date().toISOString(),
    level,
    runDir: path.resolve(run.dir),
    manifest,
    status: effectiveStatus(manifest.status, cls),
    commands: readCommands(run.dir),
    capabilities: manifest.capabilities,
    boots: records.flatMap((r) => (r.type === 'boot' ? [{ backend: r.backend, bootToReadyS: r.bootToReadyS, accel: r.accel }] : [])),
    skips: records.flatMap((r) => {
      if (r.type !== 'skip') return [];
      const cell = namedCell(r);
      return [{ backend: r.backend, ...(r.workload !== undefined ? { workload: r.workload } : {}), ...(cell ? { cell } : {}), reason: r.reason }];
    }),
    errors: errorEntries(records, cls),
    outcomes,
    counts: cls.counts,
    metrics,
    cells,
    conformance: conformanceFrom(records),
  };
}
