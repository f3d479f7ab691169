// Walk the setup steps. Check mode only reports; install mode first makes sure it may change the
// system at all (root, apt-get), so a refusal leaves everything as it was, then installs what is
// missing, one step at a time, and checks again that each step is now present.
import { CapabilityError } from '../core/errors.ts';
import { aptSession } from './apt.ts';
import { realRunner, type CommandRunner } from './runner.ts';
import type { SetupStep, StepContext } from './step.ts';

export type StepOutcome =
  | { name: string; state: 'present'; detail: string }
  | { name: string; state: 'missing'; detail: string; manual: string }
  | { name: string; state: 'installed'; detail: string };

export interface SetupOptions {
  mode: 'check' | 'install';
  run?: CommandRunner;
  /** Result lines (stdout in the CLI). */
  out?: (line: string) => void;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

export interface HostFacts {
  uid: number;
  /** Whether a command is on PATH. */
  has(cmd: string): boolean;
}

/** Refuse before anything changes: installing needs root and apt-get (with dpkg). */
export function preflight(facts: HostFacts): void {
  if (facts.uid !== 0) {
    throw new CapabilityError(
      `vnetbench setup installs Debian packages and must run as root (running as uid ${facts.uid}); nothing was changed`,
      'run it as root (sudo), or `vnetbench setup --check` to only list what is missing',
    );
  }
  const absent = ['apt-get', 'dpkg-query', 'dpkg-deb'].filter((c) => !facts.has(c));
  if (absent.length) {
    throw new CapabilityError(
      `${absent.join(', ')} not found: vnetbench setup needs a Debian system with apt; nothing was changed`,
      'on another distribution, install the packages `vnetbench setup --check` lists with its own package manager',
    );
  }
}

export async function runSetup(steps: readonly SetupStep[], opts: SetupOptions): Promise<StepOutcome[]> {
  const out = opts.out ?? (() => {});
  const log = opts.log ?? (() => {});
  const run = opts.run ?? realRunner;
  const ctx: StepContext = { run, log, apt: aptSession(run, log) };
  const outcomes: StepOutcome[] = [];
  for (const [i, step] of steps.entries()) {
    const head = `[${i + 1}/${steps.length}] ${step.name} - ${step.why} ->`;
    const before = await step.check(ctx);
    if (before.present) {
      out(`${head} already present: ${before.detail}`);
      outcomes.push({ name: step.name, state: 'present', detail: before.detail });
      continue;
    }
    if (opts.mode === 'check') {
      out(`${head} MISSING: ${before.detail}`);
      outcomes.push({ name: step.name, state: 'missing', detail: before.detail, manual: step.manual });
      continue;
    }
    out(`${head} missing (${before.detail}), installing`);
    const t0 = Date.now();
    await step.install(ctx);
    const after = await step.check(ctx);
    if (!after.present) throw new Error(`${step.name}: still missing after install: ${after.detail}`);
    // The duration lets CI say where its time went (.ci/run's closing breakdown reads it).
    out(`${head} done: ${after.detail} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    outcomes.push({ name: step.name, state: 'installed', detail: after.detail });
  }
  return outcomes;
}

export function summarize(outcomes: readonly StepOutcome[], mode: SetupOptions['mode']): string {
  const missing = outcomes.filter((o) => o.state === 'missing');
  const installed = outcomes.filter((o) => o.state === 'installed');
  if (mode === 'check') {
    if (missing.length === 0) return `setup --check: all ${outcomes.length} present`;
    const lines = missing.map((m) => `  ${m.name}: ${m.detail}\n    fix: ${m.manual}`);
    return `setup --check: ${missing.length} of ${outcomes.length} missing:\n${lines.join('\n')}\n` +
      'run `vnetbench setup` (as root) to install them';
  }
  return `setup: ${installed.length} installed, ${outcomes.length - installed.length} already present`;
}
