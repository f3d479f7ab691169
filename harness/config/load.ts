// Load and validate run configuration from a JSON file and/or flags. Every problem is reported
// with its key path, e.g. `sizes[2]: must be <= 65507 (got 70000)`, and raises UsageError (exit 2).
import fs from 'node:fs';
import { z } from 'zod';
import { UsageError } from '../core/errors.ts';
import { RunConfigSchema, type RunConfig } from './schema.ts';

export function formatPath(p: readonly PropertyKey[]): string {
  let out = '';
  for (const k of p) out += typeof k === 'number' ? `[${k}]` : out ? `.${String(k)}` : String(k);
  return out || '(root)';
}

export function describeIssues(error: z.ZodError, source: string): string {
  const lines = error.issues.map((i) => {
    const where = formatPath(i.path);
    if (i.code === 'unrecognized_keys') {
      const base = formatPath(i.path);
      return i.keys.map((k) => `${base === '(root)' ? k : `${base}.${k}`}: unknown key`).join('\n  ');
    }
    return `${where}: ${i.message}`;
  });
  return `invalid configuration in ${source}:\n  ${lines.join('\n  ')}`;
}

export function validateConfig(input: unknown, source = 'configuration'): RunConfig {
  const r = RunConfigSchema.safeParse(input);
  if (!r.success) {
    throw new UsageError(describeIssues(r.error, source), 'see README.md "Configuration" for every key and its range');
  }
  return r.data;
}

export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`config file ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** File values first, then flags override them key by key. */
export function loadConfig(file: string | undefined, flags: Record<string, unknown>): RunConfig {
  const base = file ? readConfigFile(file) : {};
  if (typeof base !== 'object' || base === null || Array.isArray(base)) {
    throw new UsageError(`config file ${file} must hold a JSON object at the top level`);
  }
  const merged: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) merged[k] = v;
  return validateConfig(merged, file ? `${file} (with command-line flags)` : 'command-line flags');
}
