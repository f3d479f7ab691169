// Spawning child-run.ts and the CLI for the cleanup tests.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { exec, type CommandResult } from '../../../harness/core/exec.ts';
import { PROJECT_ROOT } from '../../../harness/core/paths.ts';
import { cliArgv } from '../../helpers/cli.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface Phase {
  phase: 'start' | 'topology' | 'ready';
  id: string;
  [k: string]: unknown;
}

export interface RunChild {
  child: ChildProcess;
  /** Resolves with the first line of that phase (rejects if the child exits first). */
  phase(name: Phase['phase']): Promise<Phase>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

export function spawnRun(args: string[], stateDir: string): RunChild {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, 'child-run.ts'), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, VNETBENCH_STATE_DIR: stateDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const seen: Phase[] = [];
  const waiters: { name: string; resolve: (p: Phase) => void }[] = [];
  readline.createInterface({ input: child.stdout! }).on('line', (l) => {
    const p = JSON.parse(l) as Phase;
    seen.push(p);
    for (const w of waiters.filter((x) => x.name === p.phase)) w.resolve(p);
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  return {
    child,
    exit,
    stderr: () => err,
    phase: (name) => {
      const got = seen.find((p) => p.phase === name);
      if (got) return Promise.resolve(got);
      return Promise.race([
        new Promise<Phase>((resolve) => waiters.push({ name, resolve })),
        exit.then((e) => {
          throw new Error(`child exited (${JSON.stringify(e)}) before phase ${name}:\n${err}`);
        }),
      ]);
    },
  };
}

export function cli(args: string[], stateDir: string): Promise<CommandResult> {
  return exec(cliArgv(args), {
    nothrow: true,
    cwd: PROJECT_ROOT,
    env: { VNETBENCH_STATE_DIR: stateDir },
    timeoutMs: 120_000,
  });
}
