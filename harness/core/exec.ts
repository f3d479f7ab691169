// The one wrapper for short-lived system commands. Commands are argument arrays; zx quotes each
// element with its pure quote function, so no user text is ever parsed by a shell.
import { $, quote, type ProcessOutput } from 'zx';

export interface CommandResult {
  argv: string[];
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(readonly result: CommandResult, readonly caller?: string) {
    const tail = result.stderr.trim().split('\n').slice(-5).join('\n  ');
    super(
      `command failed (${result.signal ? `signal ${result.signal}` : `exit ${result.code}`}, ` +
        `${result.durationMs} ms): ${formatArgv(result.argv)}${tail ? `\n  ${tail}` : ''}`,
    );
  }
}

export interface ExecOptions {
  /** Resolve with the result instead of throwing on a non-zero exit. */
  nothrow?: boolean;
  timeoutMs?: number;
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Run in a process group of its own, out of reach of a Ctrl-C sent to the harness's group.
   * For teardown's commands: the SIGINT that started teardown must not kill them half-way.
   */
  ownGroup?: boolean;
}

type CommandListener = (r: CommandResult) => void;
const listeners = new Set<CommandListener>();

/** Subscribe to every command run (the run manifest records them all). Returns an unsubscribe. */
export function onCommand(fn: CommandListener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => quote(a)).join(' ');
}

export async function exec(argv: readonly string[], opts: ExecOptions = {}): Promise<CommandResult> {
  if (argv.length === 0) throw new Error('exec: empty argv');
  const started = Date.now();
  const shell = $({
    nothrow: true,
    quiet: true,
    verbose: false,
    ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.ownGroup ? { detached: true } : {}),
  });
  // `exec` makes the shell replace itself, so signals and exit codes are the program's own.
  const out: ProcessOutput = await shell`exec ${[...argv]}`;
  const result: CommandResult = {
    argv: [...argv],
    code: out.exitCode,
    signal: out.signal ?? null,
    stdout: out.stdout,
    stderr: out.stderr,
    durationMs: Date.now() - started,
  };
  for (const l of listeners) l(result);
  if (!opts.nothrow && result.code !== 0) throw new CommandError(result);
  return result;
}

/** Run and return trimmed stdout, throwing on failure. */
export async function output(argv: readonly string[], opts: ExecOptions = {}): Promise<string> {
  return (await exec(argv, opts)).stdout.trim();
}

/** True when the command exists and exits 0. */
export async function succeeds(argv: readonly string[], opts: ExecOptions = {}): Promise<boolean> {
  try {
    return (await exec(argv, { ...opts, nothrow: true })).code === 0;
  } catch {
    return false;
  }
}
