// `vnetbench report` as a function: read a run directory, write the requested formats.
import fs from 'node:fs';
import path from 'node:path';
import { readRun } from '../harness/results/rundir.ts';
import { compareRuns, type Comparison } from './compare.ts';
import { iterationsCsv, summaryCsv } from './csv.ts';
import { exportPdf, exportPng, launchChromium } from './export.ts';
import { reportHtml } from './html.ts';
import { reportJson } from './json.ts';
import { reportJUnit } from './junit.ts';
import { buildReport, type ReportDoc } from './model.ts';
import { ensureOutDir } from './options.ts';

export const REPORT_FORMATS = ['html', 'csv', 'junit', 'json', 'pdf', 'png'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** File names inside --out, one per format (csv writes two). */
export const REPORT_FILES = {
  html: ['report.html'],
  csv: ['results.csv', 'summary.csv'],
  junit: ['junit.xml'],
  json: ['report.json'],
  pdf: ['report.pdf'],
  png: ['report.png'],
} as const satisfies Record<ReportFormat, readonly string[]>;

export interface ReportOptions {
  formats: ReportFormat[];
  out: string;
  confidence: number;
  /** Gate the JUnit cells against this run (a compare folded into the report). */
  baseline?: string;
  thresholdPct: number;
}

export interface ReportResult {
  doc: ReportDoc;
  comparison?: Comparison;
  files: string[];
}

export async function writeReport(runDir: string, o: ReportOptions): Promise<ReportResult> {
  const doc = buildReport(readRun(runDir), o.confidence);
  const comparison = o.baseline
    ? compareRuns([buildReport(readRun(o.baseline), o.confidence), doc], { thresholdPct: o.thresholdPct, confidence: o.confidence })
    : undefined;
  ensureOutDir(o.out);
  const files: string[] = [];
  const put = (name: string, content: string) => {
    const f = path.join(o.out, name);
    fs.writeFileSync(f, content);
    files.push(f);
  };
  if (o.formats.includes('json')) put('report.json', reportJson(doc));
  if (o.formats.includes('csv')) {
    put('results.csv', iterationsCsv(doc));
    put('summary.csv', summaryCsv(doc));
  }
  if (o.formats.includes('junit')) put('junit.xml', reportJUnit(doc, comparison));
  const needsHtml = o.formats.some((f) => f === 'html' || f === 'pdf' || f === 'png');
  if (needsHtml) {
    const html = path.join(o.out, 'report.html');
    fs.writeFileSync(html, reportHtml(doc));
    if (o.formats.includes('html')) files.push(html);
    if (o.formats.includes('pdf') || o.formats.includes('png')) {
      const browser = await launchChromium();
      try {
        if (o.formats.includes('pdf')) {
          await exportPdf(browser, html, path.join(o.out, 'report.pdf'));
          files.push(path.join(o.out, 'report.pdf'));
        }
        if (o.formats.includes('png')) {
          await exportPng(browser, html, path.join(o.out, 'report.png'));
          files.push(path.join(o.out, 'report.png'));
        }
      } finally {
        await browser.close();
      }
    }
    // The HTML was only the means to the PDF/PNG: don't leave it behind unasked.
    if (!o.formats.includes('html')) fs.rmSync(html);
  }
  return { doc, comparison, files };
}
