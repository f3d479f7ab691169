// One unit of set-up as data: what it is, why vnetbench needs it, how to tell it is there and how
// to put it there. `vnetbench setup` walks a list of these; later steps (the guest image) are
// appended to the same list.
import type { CommandRunner } from './runner.ts';
import type { AptSession } from './apt.ts';

export type StepStatus =
  | { present: true; detail: string } // detail: the version or path found
  | { present: false; detail: string }; // detail: what is missing, as evidence

export interface StepContext {
  run: CommandRunner;
  apt: AptSession;
  /** Progress lines (stderr in the CLI). */
  log: (line: string) => void;
}

export interface SetupStep {
  /** Short name printed first, e.g. `package iperf3`. */
  name: string;
  /** Why vnetbench needs it, printed next to the name. */
  why: string;
  /** What the user can install by hand when setup cannot (printed by --check). */
  manual: string;
  check(ctx: StepContext): Promise<StepStatus>;
  /** Put it in place. Setup re-runs `check` afterwards, so install need not verify. */
  install(ctx: StepContext): Promise<void>;
}
