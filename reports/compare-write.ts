// `vnetbench compare` as a function: read the runs, compare, render the requested formats and
// decide the exit status. The CLI file only parses flags and prints.
import fs from 'node:fs';
import path from 'node:path';
import { readRun } from '../harness/results/rundir.ts';
import { compareRuns, type Comparison } from './compare.ts';
import { compareHtml } from './compare-html.ts';
import { compareSummary, compareTable, painter, trendTable } from './compare-table.ts';
import { compareJUnit } from './junit.ts';
import { buildReport } from './model.ts';
import { ensureOutDir } from './options.ts';

export const COMPARE_FORMATS = ['table', 'html', 'junit', 'json'] as const;
export type CompareFormat = (typeof COMPARE_FORMATS)[number];
export const FAIL_ON = ['regression', 'missing', 'none'] as const;
export type FailOn = (typeof FAIL_ON)[number];

export interface CompareRunOptions {
  thresholdPct: number;
  confidence: number;
  metrics?: string[];
  correction: 'none' | 'holm';
  formats: CompareFormat[];
  failOn: FailOn[];
  out: string;
  color: boolean;
  all: boolean;
  generator: string;
}

export interface CompareRunResult {
  comparison: Comparison;
  /** What to print on stdout (summary, and the tables when "table" was asked for). */
  text: string;
  files: string[];
  /** Why the gate failed; empty when it passed. */
  failures: string[];
}

export function runCompare(dirs: string[], o: CompareRunOptions): CompareRunResult {
  const docs = dirs.map((d) => buildReport(readRun(d), o.confidence));
  const comparison = compareRuns(docs, { thresholdPct: o.thresholdPct, confidence: o.confidence, correction: o.correction, ...(o.metrics ? { metrics: o.metrics } : {}) });
  const paint = painter(o.color);
  const parts: string[] = [];
  if (o.formats.includes('table')) {
    parts.push(compareTable(comparison, o));
    const trend = trendTable(comparison, o);
    if (trend) parts.push(`Trend across ${comparison.runs.length} runs (Δ against the baseline):\n${trend}`);
  }
  parts.push(compareSummary(comparison, paint));
  const files: string[] = [];
  const fileFormats = o.formats.filter((f) => f !== 'table');
  if (fileFormats.length) ensureOutDir(o.out);
  const put = (name: string, content: string) => {
    const f = path.join(o.out, name);
    fs.writeFileSync(f, content);
    files.push(f);
  };
  const failOnMissing = o.failOn.includes('missing');
  if (o.formats.includes('html')) put('compare.html', compareHtml(comparison, o.generator));
  if (o.formats.includes('junit')) put('compare-junit.xml', compareJUnit(comparison, failOnMissing));
  if (o.formats.includes('json')) put('compare.json', JSON.stringify(comparison, null, 2) + '\n');
  const failures: string[] = [];
  if (o.failOn.includes('regression') && comparison.regressions.length) {
    failures.push(`${comparison.regressions.length} significant regression(s) beyond ${o.thresholdPct} %`);
  }
  if (failOnMissing) {
    const missing = comparison.cells.filter((c) => c.presence === 'baseline only' || (c.presence === 'both' && c.verdict === 'insufficient data'));
    if (missing.length) failures.push(`${missing.length} cell(s) missing from the current run or with too few iterations to judge`);
  }
  return { comparison, text: parts.join('\n\n') + '\n', files, failures };
}
