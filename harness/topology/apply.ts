// Executes a TopologyPlan: each step's records go into the ledger, then its command runs. A
// failing command stops the run with the step named; teardown (through the ledger) removes
// whatever was recorded, including the object whose creation failed halfway.
import type { Ledger, Recorder } from '../core/ledger.ts';
import { exec } from '../core/exec.ts';
import type { HostTopology } from './types.ts';
import type { PlanStep, TopologyLayout, TopologyPlan } from './plan.ts';

export async function runStep(ledger: Recorder, step: PlanStep, log: (m: string) => void = () => {}): Promise<void> {
  const [first, ...rest] = step.record ?? [];
  if (ledger.isClosing) throw new Error(`the run is being torn down; skipped "${step.what}"`);
  log(step.what);
  const run = async () => {
    const r = await exec(step.argv, { nothrow: true });
    if (r.code !== 0) throw new Error(`topology step "${step.what}" failed: ${step.argv.join(' ')}\n  ${r.stderr.trim()}`);
  };
  if (!first) return run();
  for (const obj of rest) ledger.add(obj);
  await ledger.make(first, run);
}

export async function applyPlan(ledger: Ledger, plan: TopologyPlan, log?: (m: string) => void): Promise<HostTopology> {
  for (const step of plan.steps) await runStep(ledger, step, log);
  return withNamespaces(plan.layout);
}

export function withNamespaces(layout: TopologyLayout): HostTopology {
  const { guestNs, peerNs } = layout;
  return {
    ...layout,
    inGuestNs: (argv) => (guestNs ? ['ip', 'netns', 'exec', guestNs, ...argv] : [...argv]),
    inPeerNs: (argv) => {
      if (!peerNs) {
        throw new Error(
          `the peer is the remote host ${layout.peerIp}: start the workload servers there (nothing runs in a peer namespace)`,
        );
      }
      return ['ip', 'netns', 'exec', peerNs, ...argv];
    },
  };
}
