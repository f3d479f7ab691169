// `vnetbench compare BASELINE CURRENT...`: Welch t-test per cell and metric; exit 1 on a
// significant regression beyond the threshold (with --fail-on regression, the default).
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.ts';
import { METRICS } from '../../results/metrics.ts';
import { COMPARE_FORMATS, FAIL_ON, runCompare, type FailOn } from '../../../reports/compare-write.ts';
import { parseConfidence, parseFormats, parseThreshold, requireRunDir } from '../../../reports/options.ts';

const pkg = createRequire(import.meta.url)('../../../package.json') as { version: string };

interface Opts {
  threshold: string;
  confidence: string;
  failOn: string;
  format: string;
  metrics?: string;
  correction: string;
  all?: boolean;
  out?: string;
}

function parseFailOn(v: string): FailOn[] {
  const items = parseFormats(v, FAIL_ON, '--fail-on');
  if (items.includes('none') && items.length > 1) throw new UsageError(`--fail-on ${v}: "none" cannot be combined`, 'use --fail-on none, or a list of regression,missing');
  return items.filter((x) => x !== 'none');
}

function parseMetrics(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(n in METRICS));
  if (bad.length || !names.length) {
    throw new UsageError(`--metrics: unknown metric ${bad.map((b) => `"${b}"`).join(', ') || '(empty list)'}`, `use catalogue names: ${Object.keys(METRICS).join(', ')}`);
  }
  return names;
}

export function register(program: Command): void {
  program
    .command('compare')
    .description('compare runs (oldest first): current = last, baseline = first; runs between them form a trend')
    .argument('<baseline>', 'baseline run directory')
    .argument('<current...>', 'later run directories, oldest first; the last is the one gated')
    .option('--threshold <pct>', 'smallest relative change that counts, e.g. 5%', '5%')
    .option('--confidence <level>', 'confidence level: significant when p < 1 - level', '0.95')
    .option('--fail-on <what>', `exit 1 on: ${FAIL_ON.join(' | ')} (regression,missing also fails on cells missing or too few iterations)`, 'regression')
    .option('--format <list>', `comma-separated, of ${COMPARE_FORMATS.join(',')}`, 'table')
    .option('--metrics <list>', 'compare and gate only these metrics (catalogue names)')
    .option('--correction <how>', 'multiple-comparison correction over the gate: none | holm', 'none')
    .option('--all', 'show every metric in the terminal table, not only the headline ones')
    .option('--out <dir>', 'where html/junit/json go (default: CURRENT/compare)')
    .action((baseline: string, current: string[], o: Opts) => {
      const thresholdPct = parseThreshold(o.threshold);
      const confidence = parseConfidence(o.confidence);
      const formats = parseFormats(o.format, COMPARE_FORMATS);
      const failOn = parseFailOn(o.failOn);
      const metrics = parseMetrics(o.metrics);
      const [correction] = parseFormats(o.correction, ['none', 'holm'] as const, '--correction');
      const dirs = [baseline, ...current];
      dirs.forEach((d, i) => requireRunDir(d, i === 0 ? 'BASELINE' : 'CURRENT'));
      const last = dirs[dirs.length - 1];
      const color = process.env.FORCE_COLOR ? process.env.FORCE_COLOR !== '0' : Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
      const r = runCompare(dirs, {
        thresholdPct,
        confidence,
        correction,
        formats,
        failOn,
        out: o.out ?? path.join(last, 'compare'),
        color,
        all: Boolean(o.all),
        generator: `vnetbench ${pkg.version}`,
        ...(metrics ? { metrics } : {}),
      });
      process.stdout.write(r.text);
      for (const f of r.files) process.stdout.write(`wrote ${f}\n`);
      if (r.failures.length) {
        process.stderr.write(`compare: FAIL: ${r.failures.join('; ')}\n`);
        process.exitCode = 1;
      } else {
        process.stdout.write(`compare: PASS (fail-on: ${failOn.join(',') || 'none'})\n`);
      }
    });
}
