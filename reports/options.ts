// Parsing of the report/compare command-line values, with errors that say what, where and how.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../harness/core/errors.ts';

export function parseFormats<T extends string>(value: string, allowed: readonly T[], flag = '--format'): T[] {
  const items = value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (!items.length) throw new UsageError(`${flag} is empty`, `name one or more of ${allowed.join(', ')}, comma-separated`);
  for (const f of items) {
    if (!(allowed as readonly string[]).includes(f)) {
      throw new UsageError(`${flag}: unknown format "${f}"`, `use one or more of ${allowed.join(', ')}, comma-separated (e.g. ${flag} ${allowed.slice(0, 2).join(',')})`);
    }
  }
  return [...new Set(items)] as T[];
}

/** "5%", "5", "0.5%" -> percent. Anything else is a usage error. */
export function parseThreshold(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(value);
  if (!m) throw new UsageError(`--threshold "${value}" is not a percentage`, 'write a number with an optional %, e.g. --threshold 5% or --threshold 2.5');
  const v = Number(m[1]);
  if (v >= 100) throw new UsageError(`--threshold ${value} is out of range`, 'a relative change threshold must be below 100 %, e.g. --threshold 5%');
  return v;
}

/** "0.95" or "95%" -> 0.95, strictly between 0.5 and 1. */
export function parseConfidence(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(value);
  const v = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(v > 0.5 && v < 1)) {
    throw new UsageError(`--confidence "${value}" is not a confidence level`, 'give a level between 0.5 and 1 (exclusive), e.g. --confidence 0.95 or --confidence 99%');
  }
  return v;
}

export function requireRunDir(dir: string, what = 'RUN_DIR'): string {
  if (!fs.existsSync(dir)) throw new UsageError(`${what} ${dir} does not exist`, 'pass the directory that `vnetbench run --out` or `vnetbench conform --out` wrote');
  if (!fs.statSync(dir).isDirectory()) throw new UsageError(`${what} ${dir} is not a directory`, 'pass a run directory (it holds manifest.json and results.jsonl)');
  if (!fs.existsSync(path.join(dir, 'manifest.json'))) {
    throw new UsageError(`${what} ${dir} is not a run directory (no manifest.json)`, 'pass the directory that `vnetbench run --out` or `vnetbench conform --out` wrote');
  }
  return dir;
}

/** Make the output directory; a file in the way is a usage error, not a crash. */
export function ensureOutDir(dir: string): string {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new UsageError(`--out ${dir} exists and is not a directory`, 'choose a directory for the output files');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
