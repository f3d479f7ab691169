// JUnit XML (the Ant/Jenkins format CI systems read; schema in fixtures/junit/junit.xsd).
//   report:  a testcase per measured cell (failed by a compare regression), per errored cell
//            (failed, even with partial iterations), per unfinished cell (skipped), per skip record
//            (skipped with the reason), per error that stopped no cell (failed), and per conformance requirement × DUT
//            (fail -> failure with the evidence, skip -> skipped with the reason,
//            warn -> passed with a system-out note, since a SHOULD not met is not a failure).
//   compare: a testcase per cell (failed when a metric regressed; skipped on insufficient data).
import os from 'node:os';
import { metricInfo } from '../harness/results/metrics.ts';
import type { CellComparison, Comparison, MetricComparison } from './compare.ts';
import { headlineMetrics } from './compare.ts';
import { num, pct, pEq, sizeLabel } from './format.ts';
import { scopeLabel, scopeWorkload, type CellReport, type ReportDoc } from './model.ts';

export interface JUnitCase {
  classname: string;
  name: string;
  timeS: number;
  failure?: { message: string; type: string; text: string };
  skipped?: { message: string };
  systemOut?: string;
}

export interface JUnitSuite {
  name: string;
  timestamp?: string;
  properties?: Record<string, string>;
  cases: JUnitCase[];
}

// XML 1.0 allows only these characters; engine output and evidence may carry others.
const INVALID_XML = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function text(s: string): string {
  return s.replace(INVALID_XML, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(s: string): string {
  return text(s).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

const secs = (t: number) => (Number.isFinite(t) && t > 0 ? t : 0).toFixed(3);

function caseXml(c: JUnitCase): string {
  const open = `    <testcase classname="${attr(c.classname)}" name="${attr(c.name)}" time="${secs(c.timeS)}"`;
  const body: string[] = [];
  if (c.skipped) body.push(`      <skipped message="${attr(c.skipped.message)}"/>`);
  if (c.failure) {
    body.push(`      <failure message="${attr(c.failure.message)}" type="${attr(c.failure.type)}">${text(c.failure.text)}</failure>`);
  }
  if (c.systemOut) body.push(`      <system-out>${text(c.systemOut)}</system-out>`);
  return body.length ? `${open}>\n${body.join('\n')}\n    </testcase>` : `${open}/>`;
}

function suiteXml(s: JUnitSuite, id: number): string {
  const failures = s.cases.filter((c) => c.failure).length;
  const skipped = s.cases.filter((c) => c.skipped && !c.failure).length;
  const time = s.cases.reduce((a, c) => a + c.timeS, 0);
  const props = Object.entries(s.properties ?? {});
  const lines = [
    `  <testsuite name="${attr(s.name)}" tests="${s.cases.length}" failures="${failures}" errors="0" skipped="${skipped}" ` +
      `time="${secs(time)}" id="${id}" hostname="${attr(os.hostname())}"${s.timestamp ? ` timestamp="${attr(s.timestamp.replace(/Z$|\.\d+Z$/, ''))}"` : ''}>`,
  ];
  if (props.length) {
    lines.push('    <properties>');
    for (const [k, v] of props) lines.push(`      <property name="${attr(k)}" value="${attr(v)}"/>`);
    lines.push('    </properties>');
  }
  lines.push(...s.cases.map(caseXml), '  </testsuite>');
  return lines.join('\n');
}

export function junitXml(name: string, suites: JUnitSuite[]): string {
  const all = suites.flatMap((s) => s.cases);
  const time = all.reduce((a, c) => a + c.timeS, 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${attr(name)}" tests="${all.length}" failures="${all.filter((c) => c.failure).length}" errors="0" ` +
      `skipped="${all.filter((c) => c.skipped && !c.failure).length}" time="${secs(time)}">`,
    ...suites.map(suiteXml),
    '</testsuites>',
    '',
  ].join('\n');
}

function metricLine(m: MetricComparison): string {
  const u = metricInfo(m.metric)?.unit ?? '';
  return (
    `${m.metric}: ${num(m.baseline?.mean)} -> ${num(m.current?.mean)} ${u} (${pct(m.deltaPct)}` +
    `${m.diffCiPct ? `, CI of Δ ${pct(m.diffCiPct[0])}..${pct(m.diffCiPct[1])}` : ''}${m.p !== undefined ? `, ${pEq(m.pAdjusted ?? m.p)}` : ''}): ${m.verdict}; ${m.note}`
  );
}

function cellSummary(c: CellReport, level: number): string {
  const lines = headlineMetrics(c.key.workload).flatMap((m) => {
    const s = c.summary[m];
    if (!s) return [];
    return [`${m}: ${num(s.mean)} ${metricInfo(m)?.unit} (${Math.round(level * 100)} % CI ${num(s.ciLow)}..${num(s.ciHigh)}, n=${s.n})`];
  });
  if (c.confidence && !c.confidence.reached) {
    lines.push(`WARNING: confidence target ±${c.confidence.widthPct} % at ${c.confidence.level * 100} % not reached after ${c.confidence.iterations} iterations`);
  }
  lines.push(...c.warnings.map((w) => `WARNING: ${w}`));
  return lines.join('\n');
}

function cellClass(backend: string, workload?: string): string {
  return `vnetbench.benchmark.${backend}.${workload ?? 'all'}`;
}

function benchmarkSuite(doc: ReportDoc, comparison?: Comparison): JUnitSuite {
  const cases: JUnitCase[] = doc.cells.map((c) => {
    const cmp = comparison?.cells.find((x) => x.id === c.id);
    const regressed = cmp?.metrics.filter((m) => m.verdict === 'regressed') ?? [];
    const out = [cellSummary(c, doc.level), ...c.recovered.map((e) => `RETRIED (recovered, not a failure): ${e}`), ...(cmp ? cmp.metrics.map(metricLine) : [])].filter(Boolean).join('\n');
    const failure = regressed.length
      ? { message: `regressed against ${comparison!.baseline.runId}: ${regressed.map((m) => `${m.metric} ${pct(m.deltaPct)}`).join(', ')}`, type: 'regression', text: regressed.map(metricLine).join('\n') }
      : undefined;
    return {
      classname: cellClass(c.key.backend, c.key.workload),
      name: `${c.id} (${sizeLabel(c.key.size)})`,
      timeS: c.iterations.reduce((a, i) => a + i.durationS, 0),
      ...(failure ? { failure } : {}),
      ...(out ? { systemOut: out } : {}),
    };
  });
  // An errored cell fails, whatever partial iterations it has; an unfinished one was not run.
  for (const o of doc.outcomes) {
    if (o.outcome !== 'errored' && o.outcome !== 'unfinished') continue;
    const base = { classname: cellClass(o.key.backend, o.key.workload), name: `${o.id} (${sizeLabel(o.key.size)})`, timeS: 0 };
    if (o.outcome === 'errored') {
      cases.push({ ...base, failure: { message: o.errors[0].split('\n')[0], type: 'error', text: o.errors.join('\n') } });
    } else {
      cases.push({ ...base, skipped: { message: `not finished: the run (${doc.status}) stopped before this cell had a summary` } });
    }
  }
  for (const s of doc.skips) {
    cases.push({ classname: cellClass(s.backend, scopeWorkload(s)), name: scopeLabel(s), timeS: 0, skipped: { message: s.reason } });
  }
  // Errors that stopped no cell (a failed teardown, a backend whose cells are unknown) still fail the report.
  for (const e of doc.errors) {
    if (e.effect !== 'unattributed') continue;
    cases.push({
      classname: cellClass(e.backend, scopeWorkload(e)),
      name: scopeLabel(e),
      timeS: 0,
      failure: { message: e.message.split('\n')[0], type: 'error', text: e.message },
    });
  }
  return { name: `vnetbench.benchmark.${doc.manifest.runId}`, timestamp: doc.manifest.createdAt, properties: runProperties(doc), cases };
}

function runProperties(doc: ReportDoc): Record<string, string> {
  return {
    runId: doc.manifest.runId,
    status: doc.status,
    host: `${doc.manifest.host.hostname} (${doc.manifest.host.cpuModel}, ${doc.manifest.host.cpus} CPUs)`,
    kernel: doc.manifest.host.kernel,
    ...(doc.manifest.accel ? { accel: doc.manifest.accel } : {}),
    ...Object.fromEntries(Object.entries(doc.manifest.versions).map(([k, v]) => [`version.${k}`, v])),
  };
}

function conformanceSuites(doc: ReportDoc): JUnitSuite[] {
  return doc.conformance.duts.map((col) => ({
    name: `vnetbench.conformance.${col}`,
    timestamp: doc.manifest.createdAt,
    properties: runProperties(doc),
    cases: doc.conformance.results
      .filter((r) => r.column === col)
      .map((r): JUnitCase => {
        const c: JUnitCase = {
          classname: `vnetbench.conformance.${r.dut}.${r.transport}`,
          name: `${r.requirement} ${r.title} (§${r.section}, ${r.level})`,
          timeS: r.durationMs / 1000,
        };
        if (r.outcome === 'fail') c.failure = { message: r.evidence.split('\n')[0], type: r.level, text: r.evidence };
        else if (r.outcome === 'skip') c.skipped = { message: r.evidence };
        else if (r.outcome === 'warn') c.systemOut = `WARN (${r.level} not met, not a failure): ${r.evidence}`;
        else c.systemOut = `PASS: ${r.evidence}`;
        return c;
      }),
  }));
}

/** The report's JUnit: benchmark cells (gated by `comparison` when given) and conformance. */
export function reportJUnit(doc: ReportDoc, comparison?: Comparison): string {
  const suites: JUnitSuite[] = [];
  if (doc.outcomes.length || doc.skips.length || doc.errors.length || !doc.conformance.results.length) {
    suites.push(benchmarkSuite(doc, comparison));
  }
  suites.push(...conformanceSuites(doc));
  return junitXml(`vnetbench ${doc.manifest.runId}`, suites);
}

function compareCase(c: CellComparison, cmp: Comparison, failOnMissing: boolean): JUnitCase {
  const regressed = c.metrics.filter((m) => m.verdict === 'regressed');
  const out = c.metrics.map(metricLine).join('\n');
  const base: JUnitCase = { classname: `vnetbench.compare.${c.key.backend}.${c.key.workload}`, name: c.id, timeS: 0, systemOut: out };
  if (regressed.length) {
    base.failure = {
      message: `regressed: ${regressed.map((m) => `${m.metric} ${pct(m.deltaPct)} (${pEq(m.pAdjusted ?? m.p)})`).join(', ')}`,
      type: 'regression',
      text: regressed.map(metricLine).join('\n'),
    };
  } else if (c.presence !== 'both' || c.verdict === 'insufficient data') {
    const why = c.presence === 'both' ? 'insufficient data: fewer than 2 samples on a side' : `${c.presence}`;
    if (failOnMissing && c.presence !== 'current only') base.failure = { message: why, type: 'missing', text: out };
    else base.skipped = { message: why };
  }
  return base;
}

export function compareJUnit(cmp: Comparison, failOnMissing = false): string {
  return junitXml(`vnetbench compare ${cmp.baseline.runId} -> ${cmp.current.runId}`, [
    {
      name: `vnetbench.compare.${cmp.current.runId}`,
      timestamp: cmp.current.createdAt,
      properties: {
        baseline: cmp.baseline.runId,
        current: cmp.current.runId,
        thresholdPct: String(cmp.options.thresholdPct),
        confidence: String(cmp.options.confidence),
      },
      cases: cmp.cells.map((c) => compareCase(c, cmp, failOnMissing)),
    },
  ]);
}
