// The real CLI in a child process, as a user runs it (`npx tsx harness/cli/main.ts <args>`), from
// the project root: to completion (runCli) or left running for signals and progress (startCli).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../harness/core/paths.ts';

export function cliArgv(args: readonly string[]): string[] {
  return [process.execPath, '--import', 'tsx', path.join(PROJECT_ROOT, 'harness/cli/main.ts'), ...args];
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Runs the CLI through this command (e.g. setpriv to drop root). */
  prefix?: string[];
}

/** Run to completion (killed after 2 minutes). */
export function runCli(args: readonly string[], opts: CliOptions = {}): CliResult {
  const argv = [...(opts.prefix ?? []), ...cliArgv(args)];
  const r = spawnSync(argv[0]!, argv.slice(1), {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface CliRun {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: string | null }>;
  stdout(): string;
  stderr(): string;
}

/** Start it and collect its output; `exit` resolves once its streams are closed. */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const argv = cliArgv(args);
  const child = spawn(argv[0]!, argv.slice(1), {
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
