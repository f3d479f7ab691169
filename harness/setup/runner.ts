// The command runner setup steps use. It is `exec` unless a test passes its own, e.g. one that
// records every command and passes it on, or one that answers `apt-get install` without
// installing so the ordering of update/install can be checked without changing the host.
import { exec, type CommandResult, type ExecOptions } from '../core/exec.ts';

export type CommandRunner = (argv: readonly string[], opts?: ExecOptions) => Promise<CommandResult>;

export const realRunner: CommandRunner = (argv, opts) => exec(argv, opts);
