// apt-get for the system's own packages. `apt-get update` runs at most once per setup, and only
// when some install actually needs it.
import type { CommandRunner } from './runner.ts';
import { CommandError } from '../core/exec.ts';

const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive' };

export interface AptSession {
  /** Install packages (updating the package lists first, once). */
  install(pkgs: readonly string[], opts?: { recommends?: boolean }): Promise<void>;
  /** Whether `apt-get update` has run in this session. */
  readonly updated: boolean;
}

export function aptSession(run: CommandRunner, log: (line: string) => void): AptSession {
  let update: Promise<void> | undefined;
  const session = {
    updated: false,
    async install(pkgs: readonly string[], opts: { recommends?: boolean } = {}): Promise<void> {
      update ??= (async () => {
        log('apt-get update (package lists are needed for the install)');
        await mustRun(run, ['apt-get', '-q', 'update'], 'could not update the package lists');
        session.updated = true;
      })();
      await update;
      const argv = ['apt-get', '-q', '-y', 'install', ...(opts.recommends ? [] : ['--no-install-recommends']), ...pkgs];
      await mustRun(run, argv, `could not install ${pkgs.join(' ')}`);
    },
  };
  return session;
}

async function mustRun(run: CommandRunner, argv: string[], what: string): Promise<void> {
  const r = await run(argv, { nothrow: true, env: APT_ENV, timeoutMs: 1_800_000 });
  if (r.code !== 0) throw new Error(`${what}:\n  ${new CommandError(r).message}`);
}
