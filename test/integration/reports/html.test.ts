// The HTML report opened by real headless Chromium (playwright-core, Debian's /usr/bin/chromium):
// every chart drawn, every table number equal to the JSON, no console errors, nothing fetched.
// Runs over every real run under fixtures/runs/ and over SYNTHETIC runs (known truth, temp dirs).
// A full-page screenshot of each is kept under test-artifacts/reports/ for a person to look at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { PROJECT_ROOT } from '../../../harness/core/paths.ts';
import { compareHtml } from '../../../reports/compare-html.ts';
import { compareRuns } from '../../../reports/compare.ts';
import { CPU_CLASSES, DERIVED_OTHER, type ChartSpec } from '../../../reports/charts.ts';
import { launchChromium } from '../../../reports/export.ts';
import { buildReport, type ReportDoc } from '../../../reports/model.ts';
import { writeReport } from '../../../reports/write.ts';
import { readRun } from '../../../harness/results/rundir.ts';
import { fixtureRuns, LONG_ERROR, tempDir, writeIssueRun, writeSyntheticRun } from '../../unit/reports/synthetic.ts';

const ARTIFACTS = path.join(PROJECT_ROOT, 'test-artifacts', 'reports');
const tmp = tempDir();
let browser: Browser;

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const vhostUser = writeSyntheticRun(path.join(tmp, 'vu'), {
  runId: 'synthetic-html-vhost-user',
  seed: 8,
  backends: ['copy', 'macvtap', 'vhost-user'],
  workloads: ['TCP_STREAM', 'TCP_MAERTS', 'UDP_STREAM', 'TCP_RR', 'UDP_RR', 'TCP_CRR'],
  conformance: true,
});
fs.appendFileSync(path.join(vhostUser.dir, 'results.jsonl'), JSON.stringify({ type: 'error', backend: 'macvtap', workload: 'TCP_CRR', message: 'netperf: <script>alert(1)</script> & "timeout"' }) + '\n');

const issue = writeIssueRun(path.join(tmp, 'issue'), 'synthetic-html-issue').dir;

const runs: [string, string][] = [
  ['synthetic-benchmark', vhostUser.dir],
  ['synthetic-issue', issue],
  ['synthetic-conformance', writeSyntheticRun(path.join(tmp, 'conf'), { runId: 'synthetic-html-conf', seed: 9, conformanceOnly: true }).dir],
  ['synthetic-single-size', writeSyntheticRun(path.join(tmp, 'one'), { runId: 'synthetic-html-one', seed: 10, sizes: [1024], iterations: 1 }).dir],
  ...fixtureRuns().map((d): [string, string] => [`fixture-${path.basename(d)}`, d]),
];

interface PageFacts {
  charts: { id: string; datasets: { refs: ({ value: number } | null)[]; data: unknown[]; placed: number }[]; inked: number; pixels: number }[];
  canvases: number;
  cells: { cell: string; metric: string; value: number; scale: number; text: string }[];
  outcomes: { requirement: string; dut: string; outcome: string }[];
  specs: ChartSpec[];
}

async function openAndInspect(file: string, shot: string): Promise<PageFacts & { errors: string[]; requests: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  try {
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    await page.waitForFunction(() => (window as unknown as { vnbReady?: boolean }).vnbReady === true, undefined, { timeout: 30_000 });
    await page.screenshot({ path: shot, fullPage: true });
    const facts = await page.evaluate((): PageFacts => {
      type El = { x: number; y: number };
      type C = {
        canvas: HTMLCanvasElement;
        chartArea: { left: number; right: number; top: number; bottom: number };
        getDatasetMeta(i: number): { data: El[] };
        data: { datasets: { vnbRefs?: ({ value: number } | null)[]; vnbBand?: boolean; data: unknown[] }[] };
      };
      const charts = (window as unknown as { vnbCharts: C[] }).vnbCharts.map((c) => {
        const ctx = c.canvas.getContext('2d')!;
        const img = ctx.getImageData(0, 0, c.canvas.width, c.canvas.height).data;
        let inked = 0;
        for (let i = 3; i < img.length; i += 4) if (img[i] > 0) inked++;
        // Laid-out elements (points, bars) inside the plot area, per dataset.
        const a = c.chartArea;
        const placed = c.data.datasets.map((_d, i) =>
          c.getDatasetMeta(i).data.filter((e) => Number.isFinite(e.x) && Number.isFinite(e.y) && e.x >= a.left - 1 && e.x <= a.right + 1 && e.y >= a.top - 1 && e.y <= a.bottom + 1).length,
        );
        return {
          id: c.canvas.id,
          datasets: c.data.datasets.flatMap((d, i) => (d.vnbBand ? [] : [{ refs: d.vnbRefs ?? [], data: d.data, placed: placed[i] }])),
          inked,
          pixels: img.length / 4,
        };
      });
      const cells = Array.from(document.querySelectorAll<HTMLElement>('td[data-cell][data-metric]')).map((td) => ({
        cell: td.dataset.cell!,
        metric: td.dataset.metric!,
        value: Number(td.dataset.value),
        scale: Number(td.dataset.scale),
        text: td.textContent ?? '',
      }));
      const outcomes = Array.from(document.querySelectorAll<HTMLElement>('td[data-requirement]')).map((td) => ({
        requirement: td.dataset.requirement!,
        dut: td.dataset.dut!,
        outcome: td.dataset.outcome!,
      }));
      const specs = JSON.parse(document.getElementById('vnb-charts')!.textContent!);
      return { charts, canvases: document.querySelectorAll('canvas').length, cells, outcomes, specs };
    });
    return { ...facts, errors, requests };
  } finally {
    await page.close();
  }
}

/** What the JSON says a table cell holds. */
function expected(doc: ReportDoc, cell: string, metric: string): number | undefined {
  if (metric.startsWith('conformance.')) return doc.conformance.counts[cell]?.[metric.slice(12) as 'pass'];
  const c = doc.cells.find((x) => x.id === cell);
  if (!c) return undefined;
  if (metric === DERIVED_OTHER) {
    const classes = CPU_CLASSES.reduce((a, k) => a + (c.summary[k.metric]?.mean ?? 0), 0);
    return Math.max(0, c.summary.host_cpu_total_pct!.mean - classes);
  }
  return c.summary[metric as keyof typeof c.summary]?.mean;
}

/** The displayed number (before any "±"), back in raw units. */
function shown(text: string, scale: number): number {
  const m = /^\s*(−?-?[\d,]*\.?\d+)/.exec(text);
  assert.ok(m, `no number in "${text}"`);
  return Number(m[1].replace(/,/g, '').replace('−', '-')) * scale;
}

for (const [name, dir] of runs) {
  test(`${name}: HTML report renders every chart, its tables equal the JSON, no errors, nothing fetched`, async () => {
    const out = path.join(tmp, `out-${name}`);
    await writeReport(dir, { formats: ['html', 'json'], out, confidence: 0.95, thresholdPct: 5 });
    const doc = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as ReportDoc;
    const html = path.join(out, 'report.html');
    const f = await openAndInspect(html, path.join(ARTIFACTS, `${name}.png`));

    assert.deepEqual(f.errors, []);
    assert.deepEqual(f.requests, [pathToFileURL(html).href], 'the report must fetch nothing');
    // Self-contained in the source too: no external script, stylesheet, image or font.
    assert.doesNotMatch(fs.readFileSync(html, 'utf8'), /<(script|link|img)[^>]+(src|href)=["']?(https?:|\/\/)/i);

    // Every chart spec became a Chart.js instance on its own canvas, with ink on it.
    assert.equal(f.charts.length, f.specs.length);
    assert.equal(f.canvases, f.specs.length);
    const expectCharts = doc.cells.length ? 1 : 0;
    assert.ok(f.specs.length >= expectCharts + (doc.conformance.results.length ? 1 : 0), 'expected charts for this run');
    for (const c of f.charts) {
      assert.ok(c.inked > c.pixels * 0.01, `chart ${c.id} is blank (${c.inked} of ${c.pixels} pixels drawn)`);
      const spec = f.specs.find((s) => s.id === c.id)!;
      assert.ok(spec, `chart ${c.id} has no spec`);
      assert.ok(c.datasets.some((d) => d.data.some((v) => v !== null)), `chart ${c.id} has no data`);
      // Each plotted value is its JSON number in the chart's display unit.
      const factor = spec.table.columns[0].scale.factor;
      for (const d of c.datasets) {
        const values = d.data.filter((v) => v !== null).length;
        assert.ok(d.placed >= values, `chart ${c.id}: ${values} values but ${d.placed} drawn inside the plot area`);
        d.refs.forEach((r, i) => {
          if (!r) return assert.equal(d.data[i], null);
          const want = expected(doc, (r as unknown as { cell: string }).cell, (r as unknown as { metric: string }).metric);
          assert.equal(r.value, want, `chart ${c.id} point ${i}`);
          assert.equal(d.data[i], r.value / factor);
        });
      }
    }

    // Every number in every table: the raw value is the JSON's, and the text shows it.
    if (doc.cells.length) assert.ok(f.cells.length >= doc.cells.length, 'tables show the cells');
    for (const td of f.cells) {
      const want = expected(doc, td.cell, td.metric);
      assert.equal(td.value, want, `${td.cell} ${td.metric}`);
      const got = shown(td.text, td.scale);
      const tol = Math.max(Math.abs(want!) * 0.005, td.scale * 0.5 * (Math.abs(want! / td.scale) >= 1000 ? 1 : 0), 1e-9);
      assert.ok(Math.abs(got - want!) <= tol, `${td.cell} ${td.metric}: table shows "${td.text}", JSON has ${want}`);
    }

    // The conformance matrix: one cell per result, with its outcome.
    assert.equal(f.outcomes.length, doc.conformance.results.length);
    for (const o of f.outcomes) {
      const r = doc.conformance.results.find((x) => x.requirement === o.requirement && x.column === o.dut);
      assert.equal(o.outcome, r?.outcome, `${o.requirement} on ${o.dut}`);
    }
  });
}

test('synthetic issue run: a 400-character unbroken error never makes the page wider than the window', async () => {
  const out = path.join(tmp, 'out-wide');
  await writeReport(issue, { formats: ['html'], out, confidence: 0.95, thresholdPct: 5 });
  const file = path.join(out, 'report.html');
  const token = LONG_ERROR.split(' ').reduce((a, b) => (b.length > a.length ? b : a));
  assert.ok(token.length >= 400, `the error holds a ${token.length}-character token`);
  for (const width of [1200, 800]) {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    try {
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      await page.waitForFunction(() => (window as unknown as { vnbReady?: boolean }).vnbReady === true, undefined, { timeout: 30_000 });
      const measure = () => page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, body: document.body.scrollWidth, viewport: window.innerWidth }));
      const closed = await measure();
      assert.ok(closed.scroll <= closed.viewport && closed.body <= closed.viewport, `${width} px: page is ${closed.scroll} px wide (body ${closed.body})`);
      // The full text is one click away, and opening it does not widen the page either.
      const details = page.locator('details.errtext', { hasText: 'unknown output selector' });
      assert.ok((await details.count()) >= 1);
      const summary = (await details.first().locator('summary').textContent()) ?? '';
      assert.ok(summary.length < 260 && summary.includes('…'), `summary: ${summary.length} characters`);
      await page.evaluate(() => document.querySelectorAll('details').forEach((d) => ((d as HTMLDetailsElement).open = true)));
      assert.ok(((await details.first().locator('pre').textContent()) ?? '').includes(token));
      const open = await measure();
      assert.ok(open.scroll <= open.viewport && open.body <= open.viewport, `${width} px, every details open: page is ${open.scroll} px wide (body ${open.body})`);
      if (width === 1200) await page.screenshot({ path: path.join(ARTIFACTS, 'synthetic-issue-open.png'), fullPage: true });
    } finally {
      await page.close();
    }
  }
});

test('synthetic: hostile text in run records is escaped, not executed', async () => {
  const out = path.join(tmp, 'out-escape');
  await writeReport(vhostUser.dir, { formats: ['html'], out, confidence: 0.95, thresholdPct: 5 });
  const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
  assert.ok(html.includes('netperf: &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;timeout&quot;'));
  assert.ok(!html.includes('<script>alert(1)</script>'));
});

test('synthetic: compare HTML (4 runs: gate + trend) renders, with the regression in its table', async () => {
  const dirs = [0, 1, 2, 3].map(
    (i) =>
      writeSyntheticRun(path.join(tmp, `trend${i}`), {
        runId: `synthetic-trend-${i}`,
        seed: 300 + i,
        workloads: ['TCP_STREAM', 'TCP_RR'],
        change: (k) => (k.backend === 'copy' && k.workload === 'TCP_STREAM' ? { throughput_bps: 1 - 0.04 * i } : {}),
      }).dir,
  );
  const cmp = compareRuns(
    dirs.map((d) => buildReport(readRun(d))),
    { thresholdPct: 5, confidence: 0.95 },
  );
  const file = path.join(tmp, 'compare.html');
  fs.writeFileSync(file, compareHtml(cmp, 'vnetbench test'));
  const f = await openAndInspect(file, path.join(ARTIFACTS, 'synthetic-compare.png'));
  assert.deepEqual(f.errors, []);
  assert.deepEqual(f.requests, [pathToFileURL(file).href]);
  assert.equal(f.charts.length, f.specs.length);
  assert.ok(f.specs.some((s) => s.id.startsWith('trend-')), 'trend charts');
  assert.ok(f.specs.some((s) => s.id.startsWith('delta-')), 'change charts');
  for (const c of f.charts) assert.ok(c.inked > c.pixels * 0.01, `chart ${c.id} is blank`);
  const page = await browser.newPage();
  await page.goto(pathToFileURL(file).href);
  const regressed = await page.$$eval('tr[data-verdict="regressed"]', (rows) => rows.map((r) => `${(r as HTMLElement).dataset.cell} ${(r as HTMLElement).dataset.metric}`));
  await page.close();
  assert.deepEqual(
    [...new Set(regressed)].sort(),
    cmp.regressions.map((r) => `${r.cell} ${r.metric}`).sort(),
  );
  assert.ok(regressed.length >= 3);
});
