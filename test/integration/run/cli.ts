// Run the real CLI as a child process with an isolated ledger directory, for run-level tests.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../harness/core/paths.ts';

export interface CliRun {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: string | null }>;
  stdout(): string;
  stderr(): string;
}

export function startCli(args: string[], env: Record<string, string>): CliRun {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'harness/cli/main.ts'), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, exit, stdout: () => out, stderr: () => err };
}

export function readRecords(dir: string): Record<string, any>[] {
  const f = path.join(dir, 'results.jsonl');
  if (!fs.existsSync(f)) return [];
  return fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);
}

/** Run ids (6 hex digits) of the ledgers a run has open now. */
export function ledgerIds(stateDir: string): string[] {
  const d = path.join(stateDir, 'ledgers');
  return fs.existsSync(d) ? fs.readdirSync(d).map((f) => path.basename(f, '.jsonl')) : [];
}

export async function waitFor<T>(what: string, fn: () => T | undefined, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Guest names carry the backend ledger's id: vnb-<id>-<backend>. */
export function idsFromManifest(dir: string): string[] {
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { commandLines: Record<string, string[]> };
  return Object.values(m.commandLines).flatMap((argv) => {
    const name = argv[argv.indexOf('-name') + 1] ?? '';
    const id = /^vnb-([0-9a-f]{6})-/.exec(name)?.[1];
    return id ? [id] : [];
  });
}

