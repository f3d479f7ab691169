// The terminal view of a comparison (cli-table3). Colours only when asked (a TTY or FORCE_COLOR):
// verdicts red/green/grey/yellow, deltas green when they go the metric's good way, red when bad.
import Table from 'cli-table3';
import { metricInfo } from '../harness/results/metrics.ts';
import type { CellKey } from '../harness/results/types.ts';
import { headlineMetrics, type CellComparison, type Comparison, type MetricComparison, type Verdict } from './compare.ts';
import { metricScale, num, pct, pEq, pValue, seriesLabel, sizeLabel, workloadLabel } from './format.ts';

const ANSI = { red: 31, green: 32, yellow: 33, grey: 90, bold: 1 } as const;
type Paint = (c: keyof typeof ANSI, s: string) => string;

export function painter(color: boolean): Paint {
  return color ? (c, s) => `\x1b[${ANSI[c]}m${s}\x1b[0m` : (_c, s) => s;
}

const VERDICT_COLOR: Record<Verdict, keyof typeof ANSI> = {
  regressed: 'red',
  improved: 'green',
  'no significant change': 'grey',
  'insufficient data': 'yellow',
};

export function cellName(k: CellKey): string {
  return `${seriesLabel(k)} ${workloadLabel(k)} ${sizeLabel(k.size)}`;
}

/** Value with a scaled unit: "2.39 Gbit/s". */
function valueText(metric: string, v: number | undefined): string {
  if (v === undefined) return '–';
  const s = metricScale(metric, [v]);
  // Terminal columns are narrow: "% of one core" reads as "%" next to a CPU metric's label.
  const unit = s.unit.startsWith('% of') ? '%' : s.unit;
  return `${num(v / s.factor)} ${unit}`;
}

function deltaText(m: MetricComparison, paint: Paint): string {
  const t = pct(m.deltaPct);
  if (m.deltaPct === undefined || m.deltaPct === 0) return t;
  const good = m.better === 'higher' ? m.deltaPct > 0 : m.deltaPct < 0;
  return paint(good ? 'green' : 'red', t);
}

export function shownMetrics(c: CellComparison, all: boolean): MetricComparison[] {
  if (all) return c.metrics;
  const head = headlineMetrics(c.key.workload);
  return c.metrics.filter((m) => head.includes(m.metric) || m.verdict === 'regressed' || m.verdict === 'improved');
}

export function compareTable(cmp: Comparison, opts: { color: boolean; all: boolean }): string {
  const paint = painter(opts.color);
  const t = new Table({
    head: ['Cell', 'Metric', 'Baseline', 'Current', 'Δ', `CI of Δ (${Math.round(cmp.options.confidence * 100)} %)`, cmp.options.correction === 'holm' ? 'p (Holm)' : 'p', 'Verdict'],
    style: { head: opts.color ? ['bold'] : [], border: opts.color ? ['grey'] : [] },
    chars: COMPACT,
    colAligns: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'left'],
  });
  for (const c of cmp.cells) {
    const ms = shownMetrics(c, opts.all);
    ms.forEach((m, i) => {
      t.push([
        i === 0 ? `${cellName(c.key)}${c.presence !== 'both' ? `\n(${c.presence})` : ''}` : '',
        metricInfo(m.metric)?.label ?? m.metric,
        valueText(m.metric, m.baseline?.mean),
        valueText(m.metric, m.current?.mean),
        deltaText(m, paint),
        m.diffCiPct ? `${pct(m.diffCiPct[0])} .. ${pct(m.diffCiPct[1])}` : '–',
        pValue(m.pAdjusted ?? m.p),
        paint(VERDICT_COLOR[m.verdict], m.verdict),
      ]);
    });
  }
  return t.toString();
}

// No rule between rows: a cell's metrics read as one block.
const COMPACT = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

export function trendTable(cmp: Comparison, opts: { color: boolean; all: boolean }): string {
  if (!cmp.trend.length) return '';
  const paint = painter(opts.color);
  const t = new Table({
    head: ['Cell', 'Metric', ...cmp.runs.map((r, i) => (i === 0 ? `${r.runId}\n(baseline)` : r.runId))],
    style: { head: opts.color ? ['bold'] : [], border: opts.color ? ['grey'] : [] },
  });
  for (const row of cmp.trend) {
    if (!opts.all && !headlineMetrics(row.key.workload).slice(0, 2).includes(row.metric)) continue;
    t.push([
      cellName(row.key),
      metricInfo(row.metric)?.label ?? row.metric,
      ...row.points.map((p, i) => {
        if (!p) return '–';
        const v = valueText(row.metric, p.mean);
        if (i === 0) return v;
        const verdict = row.verdicts[i];
        return `${v}\n${verdict ? paint(VERDICT_COLOR[verdict], pct(row.deltaPct[i])) : pct(row.deltaPct[i])}`;
      }),
    ]);
  }
  return t.toString();
}

export function compareSummary(cmp: Comparison, paint: Paint): string {
  const c = cmp.counts;
  const o = cmp.options;
  const lines = [
    `baseline ${cmp.baseline.runId} (${cmp.baseline.createdAt})`,
    `current  ${cmp.current.runId} (${cmp.current.createdAt})`,
    `threshold ${o.thresholdPct} %, confidence ${o.confidence * 100} % (significant when ${o.correction === 'holm' ? 'the Holm-adjusted p' : 'p'} < ${(1 - o.confidence).toFixed(3)})`,
    `${paint('red', `${c.regressed} regressed`)}, ${paint('green', `${c.improved} improved`)}, ` +
      `${c['no significant change']} no significant change, ${paint('yellow', `${c['insufficient data']} insufficient data`)} (cell × metric)`,
  ];
  const missing = cmp.cells.filter((x) => x.presence === 'baseline only');
  if (missing.length) lines.push(paint('yellow', `${missing.length} cell(s) of the baseline are missing from the current run: ${missing.map((x) => x.id).join(', ')}`));
  for (const r of cmp.regressions) lines.push(paint('red', `REGRESSION ${r.cell} ${r.metric} ${pct(r.deltaPct)} (${pEq(r.p)})`));
  return lines.join('\n');
}
