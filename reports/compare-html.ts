// The HTML view of a comparison: the gate's outcome, a chart per headline metric showing each
// cell's change with its confidence interval against the ±threshold band, the full table, and
// the trend across runs when more than two were given.
import { METRICS, metricInfo, type MetricName } from '../harness/results/metrics.ts';
import { PALETTE, type ChartSpec, type Dataset } from './charts.ts';
import { headlineMetrics, VERDICTS, type Comparison, type MetricComparison, type Verdict } from './compare.ts';
import { cellName, shownMetrics } from './compare-table.ts';
import { cellLabel, esc, metricScale, num, pct, pEq, pValue } from './format.ts';
import { chartBlock, numberTable, page } from './page.ts';

const VERDICT_COLORS: Record<Verdict, string> = {
  regressed: '#e15759',
  improved: '#59a14f',
  'no significant change': '#9aa5b1',
  'insufficient data': '#edc948',
};

const verdictClass = (v: Verdict) => ({ regressed: 'regressed', improved: 'improved', 'no significant change': 'nochange', 'insufficient data': 'insufficient' })[v];
const pill = (v: Verdict) => `<span class="pill ${verdictClass(v)}">${esc(v)}</span>`;

function valueText(metric: string, v: number | undefined): string {
  if (v === undefined) return '–';
  const s = metricScale(metric, [v]);
  return `${num(v / s.factor)} ${s.unit.startsWith('% of') ? '%' : s.unit}`;
}

function deltaCell(m: MetricComparison): string {
  const good = m.deltaPct !== undefined && (m.better === 'higher' ? m.deltaPct > 0 : m.deltaPct < 0);
  const cls = m.deltaPct === undefined || m.deltaPct === 0 ? '' : good ? ' good' : ' bad';
  return `<td class="num delta${cls}">${pct(m.deltaPct)}</td>`;
}

function row(cell: string, label: string, m: MetricComparison, first: boolean): string {
  const info = metricInfo(m.metric);
  const arrow = m.better === 'higher' ? '↑' : '↓';
  // The reason is worth a line only when it is not the plain "not significant".
  const why = m.verdict === 'no significant change' && !/within/.test(m.note) ? '' : `<div class="why">${esc(m.note)}</div>`;
  return `<tr class="${first ? 'group-start' : ''}" data-cell="${esc(cell)}" data-metric="${m.metric}" data-verdict="${esc(m.verdict)}" data-delta="${m.deltaPct ?? ''}" data-p="${m.p ?? ''}">
<td>${label}</td><td title="${esc(info?.doc ?? '')} (${m.better} is better)">${esc(info?.label ?? m.metric)} <span class="ci">${arrow}</span></td>
<td class="num">${esc(valueText(m.metric, m.baseline?.mean))}${m.baseline ? ` <span class="ci">n=${m.baseline.n}</span>` : ''}</td>
<td class="num">${esc(valueText(m.metric, m.current?.mean))}${m.current ? ` <span class="ci">n=${m.current.n}</span>` : ''}</td>
${deltaCell(m)}<td class="num">${m.diffCiPct ? `${pct(m.diffCiPct[0])} … ${pct(m.diffCiPct[1])}` : '–'}</td><td class="num">${pValue(m.pAdjusted ?? m.p)}</td><td title="${esc(m.note)}">${pill(m.verdict)}${why}</td></tr>`;
}

function fullTable(cmp: Comparison, all: boolean): string {
  const head = `<tr><th>Cell</th><th>Metric</th><th class="num">Baseline</th><th class="num">Current</th><th class="num">Δ</th><th class="num">CI of Δ (${Math.round(cmp.options.confidence * 100)} %)</th><th class="num">${cmp.options.correction === 'holm' ? 'p (Holm)' : 'p'}</th><th>Verdict</th></tr>`;
  const rows = cmp.cells.flatMap((c) =>
    shownMetrics(c, all).map((m, i) => row(c.id, i === 0 ? `<strong>${esc(cellName(c.key))}</strong>${c.presence !== 'both' ? `<br><span class="ci">${esc(c.presence)}</span>` : ''}` : '', m, i === 0)),
  );
  return `<div class="table-wrap"><table class="numbers compare"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div>`;
}

/** Floating bars: each cell's confidence interval of the change, in percent, coloured by verdict. */
function deltaChart(cmp: Comparison, metric: MetricName): ChartSpec | undefined {
  const items = cmp.cells.flatMap((c) => {
    const m = c.metrics.find((x) => x.metric === metric && x.diffCiPct);
    return m ? [{ c, m }] : [];
  });
  if (!items.length) return undefined;
  const info = METRICS[metric];
  const scale = { factor: 1, unit: '%' };
  const finite = (v: number) => (Number.isFinite(v) ? v : Math.sign(v) * 1000);
  const datasets: Dataset[] = VERDICTS.filter((v) => items.some((i) => i.m.verdict === v)).map((v) => ({
    label: v,
    data: items.map((i) => (i.m.verdict === v ? ([finite(i.m.diffCiPct![0]), finite(i.m.diffCiPct![1])] as [number, number]) : null)),
    refs: items.map((i) => (i.m.verdict === v ? { cell: i.c.id, metric, value: i.m.deltaPct! } : null)),
    color: VERDICT_COLORS[v],
  }));
  const th = cmp.options.thresholdPct;
  return {
    id: `delta-${metric}`,
    title: `${info.label}: change from baseline (${info.better} is better)`,
    kind: 'bar',
    horizontal: true,
    overlap: true,
    rowHeight: 26,
    labels: items.map((i) => cellName(i.c.key)),
    xTitle: `change, % of baseline (bar = ${Math.round(cmp.options.confidence * 100)} % CI)`,
    yTitle: 'cell',
    unit: '%',
    datasets,
    marks: [
      { value: 0, label: 'no change', color: '#333' },
      { value: -th, label: `-${th} %`, color: '#999' },
      { value: th, label: `+${th} %`, color: '#999' },
    ],
    table: {
      corner: 'cell',
      columns: [
        { label: 'Δ (%)', scale },
        { label: 'CI low (%)', scale },
        { label: 'CI high (%)', scale },
      ],
      rows: items.map((i) => ({
        head: cellName(i.c.key),
        cells: [
          { cell: i.c.id, metric: `${metric}.delta_pct`, value: i.m.deltaPct! },
          { cell: i.c.id, metric: `${metric}.ci_low_pct`, value: i.m.diffCiPct![0] },
          { cell: i.c.id, metric: `${metric}.ci_high_pct`, value: i.m.diffCiPct![1] },
        ],
      })),
    },
  };
}

/**
 * Metric across runs, one line per cell of a workload, as percent change from the baseline so
 * small cells' drifts show as clearly as large ones; the absolute means go in a table under it.
 */
function trendChart(cmp: Comparison, workload: string, metric: MetricName): { spec: ChartSpec; means: string } | undefined {
  const rows = cmp.trend.filter((r) => r.key.workload === workload && r.metric === metric && r.points[0]);
  if (!rows.length) return undefined;
  const info = METRICS[metric];
  const label = (r: (typeof rows)[number]) => cellLabel(r.key);
  const pctScale = { factor: 1, unit: '%' };
  const deltas = rows.map((r) => r.deltaPct.map((d) => (d === undefined ? null : { cell: r.cellId, metric: `${metric}.delta_pct`, value: d })));
  const th = cmp.options.thresholdPct;
  const scale = metricScale(metric, rows.flatMap((r) => r.points.map((p) => p?.mean ?? 0)));
  const meanRefs = rows.map((r) => r.points.map((p) => (p ? { cell: r.cellId, metric, value: p.mean, ciLow: p.ciLow, ciHigh: p.ciHigh, n: p.n } : null)));
  const spec: ChartSpec = {
    id: `trend-${workload}-${metric}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-'),
    title: `${workload}: ${info.label} across runs, change from baseline (${info.better} is better)`,
    kind: 'line',
    labels: cmp.runs.map((r, i) => (i === 0 ? `${r.runId} (baseline)` : r.runId)),
    xTitle: 'run (oldest first)',
    yTitle: 'change, % of baseline mean',
    unit: '%',
    marks: [
      { value: 0, label: 'baseline', color: '#333' },
      { value: -th, label: `-${th} %`, color: '#999' },
      { value: th, label: `+${th} %`, color: '#999' },
    ],
    datasets: rows.map((r, i) => ({
      label: label(r),
      data: deltas[i].map((x) => (x ? x.value : null)),
      refs: deltas[i],
      color: PALETTE[i % PALETTE.length],
    })),
    table: {
      corner: 'change from baseline (%)',
      columns: cmp.runs.map((r) => ({ label: r.runId, scale: pctScale })),
      rows: rows.map((r, i) => ({ head: label(r), cells: deltas[i] })),
    },
  };
  const means = numberTable({
    corner: `${info.label} (${scale.unit})`,
    columns: cmp.runs.map((r) => ({ label: r.runId, scale })),
    rows: rows.map((r, i) => ({ head: label(r), cells: meanRefs[i] })),
  });
  return { spec, means };
}

export function compareHtml(cmp: Comparison, generator: string): string {
  const o = cmp.options;
  const c = cmp.counts;
  const gate = cmp.regressions.length
    ? `<div class="callout bad"><strong>${cmp.regressions.length} significant regression(s) beyond ${o.thresholdPct} %</strong><ul>${cmp.regressions
        .map((r) => `<li>${esc(r.cell)}: ${esc(metricInfo(r.metric)?.label ?? r.metric)} ${esc(pct(r.deltaPct))} (${esc(pEq(r.p))})</li>`)
        .join('')}</ul></div>`
    : `<div class="callout good"><strong>No significant regression beyond ${o.thresholdPct} %.</strong></div>`;
  const missing = cmp.cells.filter((x) => x.presence === 'baseline only');
  const missingNote = missing.length
    ? `<div class="callout"><strong>${missing.length} baseline cell(s) missing from the current run</strong> (not compared): ${esc(missing.map((x) => x.id).join(', '))}</div>`
    : '';
  const facts = [
    ['Regressed', String(c.regressed)],
    ['Improved', String(c.improved)],
    ['No significant change', String(c['no significant change'])],
    ['Insufficient data', String(c['insufficient data'])],
  ]
    .map(([k, v]) => `<div class="fact"><div class="k">${esc(k)}</div><div class="v">${esc(v)} <small>cell × metric</small></div></div>`)
    .join('');
  const method = `<p class="lead">Welch's t-test per cell and metric on the iteration samples of each run. A change is a <em>regression</em> (or an <em>improvement</em>) when it is significant (p &lt; ${esc((1 - o.confidence).toFixed(3))}, i.e. ${esc(o.confidence * 100)} % confidence) and larger than ${esc(o.thresholdPct)} % of the baseline mean, in the metric's bad (good) direction: higher throughput is good; higher CPU, latency and service demand are bad. Fewer than two iterations on either side: <em>insufficient data</em>.${o.correction === 'holm' ? ' p-values are Holm-Bonferroni adjusted over every test of the comparison, so the chance of any false alarm stays below the confidence complement.' : ` Each of the ${esc(cmp.cells.reduce((a, x) => a + x.metrics.length, 0))} tests is at the per-test level, so with many tests a few chance changes can pass both bars; <code>--correction holm</code> trades power for no false alarms.`}</p>`;
  const metricsForCharts = [...new Set(cmp.cells.flatMap((x) => headlineMetrics(x.key.workload)))];
  const deltaCharts = metricsForCharts.map((m) => deltaChart(cmp, m)).filter((x): x is ChartSpec => Boolean(x));
  const workloads = [...new Set(cmp.trend.map((r) => r.key.workload))];
  const trends = workloads
    .flatMap((w) => headlineMetrics(w).slice(0, 2).map((m) => trendChart(cmp, w, m)))
    .filter((x): x is { spec: ChartSpec; means: string } => Boolean(x));
  const trendCharts = trends.map((t) => t.spec);
  const runs = `<table><thead><tr><th>#</th><th>Run</th><th>Started</th><th>Directory</th></tr></thead><tbody>${cmp.runs
    .map((r, i) => `<tr><td>${i === 0 ? 'baseline' : i === cmp.runs.length - 1 ? 'current' : i}</td><td><code>${esc(r.runId)}</code></td><td>${esc(r.createdAt)}</td><td class="mono">${esc(r.dir)}</td></tr>`)
    .join('')}</tbody></table>`;
  const body = `<section id="summary"><div class="facts">${facts}</div>${gate}${missingNote}${method}${runs}</section>
<section id="changes"><h2>Change per cell</h2>${deltaCharts.map((s) => chartBlock(s, o.confidence, 'Bars outside the dashed ±threshold lines and clear of zero are significant changes beyond the threshold.')).join('')}</section>
<section id="table"><h2 class="page">All comparisons</h2><p class="lead">Headline metrics of each cell, plus any other metric that changed significantly. ↑ higher is better, ↓ lower is better; Δ is green when it went the good way, red when it went the bad way.</p>${fullTable(cmp, false)}
<details><summary>Every metric of every cell</summary>${fullTable(cmp, true)}</details></section>
${trendCharts.length ? `<section id="trend"><h2 class="page">Trend across ${cmp.runs.length} runs</h2><p class="lead">Each run's mean as a change from the baseline's, in run order, with the ±${esc(o.thresholdPct)} % threshold dashed. Under each chart: the changes, then the means themselves with their confidence intervals.</p>${trends.map((t) => chartBlock(t.spec, o.confidence).replace(/<\/figure>$/, `<p class="note">Means (± ${Math.round(o.confidence * 100)} % confidence half-width):</p>${t.means}</figure>`)).join('')}</section>` : ''}`;
  return page({
    title: 'vnetbench comparison',
    subtitleHtml: `baseline <code>${esc(cmp.baseline.runId)}</code> → current <code>${esc(cmp.current.runId)}</code> · threshold ${esc(o.thresholdPct)} % · confidence ${esc(o.confidence * 100)} %`,
    toc: [
      { id: 'summary', label: 'Summary' },
      { id: 'changes', label: 'Changes' },
      { id: 'table', label: 'All comparisons' },
      ...(trendCharts.length ? [{ id: 'trend', label: 'Trend' }] : []),
    ],
    bodyHtml: body,
    charts: [...deltaCharts, ...trendCharts],
    generator,
  });
}
