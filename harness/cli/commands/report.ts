// `vnetbench report RUN_DIR`: JSON, CSV, JUnit, HTML, PDF, PNG from a run directory.
import path from 'node:path';
import type { Command } from 'commander';
import { parseConfidence, parseFormats, parseThreshold, requireRunDir } from '../../../reports/options.ts';
import { REPORT_FORMATS, writeReport } from '../../../reports/write.ts';

interface Opts {
  format: string;
  out?: string;
  baseline?: string;
  threshold: string;
  confidence: string;
}

export function register(program: Command): void {
  program
    .command('report')
    .description('write reports of a run directory: html (self-contained), csv, junit, json, pdf, png')
    .argument('<run-dir>', 'directory written by `vnetbench run` or `vnetbench conform`')
    .option('--format <list>', `comma-separated, of ${REPORT_FORMATS.join(',')}`, 'html,csv,junit,json')
    .option('--out <dir>', 'where to write the files (default: RUN_DIR/report)')
    .option('--baseline <run-dir>', 'gate the JUnit benchmark cells against this run, as `compare` does')
    .option('--threshold <pct>', 'with --baseline: smallest change that can fail a cell', '5%')
    .option('--confidence <level>', 'confidence level of intervals and tests', '0.95')
    .action(async (runDir: string, o: Opts) => {
      // Validate everything before writing anything.
      const formats = parseFormats(o.format, REPORT_FORMATS);
      const confidence = parseConfidence(o.confidence);
      const thresholdPct = parseThreshold(o.threshold);
      requireRunDir(runDir);
      if (o.baseline) requireRunDir(o.baseline, '--baseline');
      const out = o.out ?? path.join(runDir, 'report');
      const r = await writeReport(runDir, { formats, out, confidence, thresholdPct, ...(o.baseline ? { baseline: o.baseline } : {}) });
      const d = r.doc;
      const conf = d.conformance.results;
      process.stdout.write(
        `${d.manifest.runId}: ${d.cells.length} cell(s), ${d.cells.reduce((a, c) => a + c.iterations.length, 0)} iteration(s)` +
          `${conf.length ? `, conformance ${['pass', 'fail', 'warn', 'skip'].map((x) => `${conf.filter((c) => c.outcome === x).length} ${x}`).join(' / ')}` : ''}` +
          `${d.errors.length ? `, ${d.errors.length} error(s)` : ''}${r.comparison ? `, ${r.comparison.regressions.length} regression(s) against ${r.comparison.baseline.runId}` : ''}\n`,
      );
      for (const f of r.files) process.stdout.write(`  wrote ${f}\n`);
    });
}
