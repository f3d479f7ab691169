// CSV export (csv-stringify): values in the metric catalogue's base units, never scaled, so a
// spreadsheet or pandas gets the same numbers as the JSON.
//   results.csv  one row per cell and iteration; one column per metric, its unit in the header
//   summary.csv  one row per cell and metric: n, mean, stddev, confidence interval
import { stringify } from 'csv-stringify/sync';
import type { MetricInfo, MetricName } from '../harness/results/metrics.ts';
import type { CellKey } from '../harness/results/types.ts';
import type { ReportDoc } from './model.ts';

export const KEY_COLUMNS = ['run_id', 'cell_id', 'backend', 'workload', 'size', 'offloads', 'streams', 'queues', 'engine'] as const;

/** "throughput_bps [bit/s]": the metric's name and its unit in one header cell. */
export function metricHeader(name: string, info: MetricInfo): string {
  return `${name} [${info.unit}]`;
}

function keyValues(runId: string, id: string, k: CellKey): (string | number)[] {
  return [runId, id, k.backend, k.workload, k.size, k.offloads, k.streams, k.queues, k.engine];
}

function catalogue(doc: ReportDoc): [MetricName, MetricInfo][] {
  return Object.entries(doc.metrics) as [MetricName, MetricInfo][];
}

export function iterationsCsv(doc: ReportDoc): string {
  const metrics = catalogue(doc);
  const header = [...KEY_COLUMNS, 'iteration', 'started_at', 'duration_s', ...metrics.map(([n, i]) => metricHeader(n, i))];
  const rows = doc.cells.flatMap((c) =>
    c.iterations.map((it) => [
      ...keyValues(doc.manifest.runId, c.id, c.key),
      it.iteration,
      it.startedAt,
      it.durationS,
      ...metrics.map(([n]) => it.metrics[n] ?? ''),
    ]),
  );
  return stringify([header, ...rows]);
}

export const SUMMARY_COLUMNS = [...KEY_COLUMNS, 'metric', 'unit', 'better', 'n', 'mean', 'stddev', 'ci_low', 'ci_high', 'level'] as const;

export function summaryCsv(doc: ReportDoc): string {
  const metrics = catalogue(doc);
  const rows = doc.cells.flatMap((c) =>
    metrics.flatMap(([n, info]) => {
      const s = c.summary[n];
      if (!s) return [];
      return [[...keyValues(doc.manifest.runId, c.id, c.key), n, info.unit, info.better, s.n, s.mean, s.stddev, s.ciLow, s.ciHigh, s.level]];
    }),
  );
  return stringify([[...SUMMARY_COLUMNS], ...rows]);
}
