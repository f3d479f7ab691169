// `vnetbench reference-device` in a child process for the tests: started and waited for until it
// listens, and a tap in a fresh namespace for its `--link tap:` (recorded in the caller's ledger).
import assert from 'node:assert/strict';
import { exec } from '../../harness/core/exec.ts';
import type { Ledger } from '../../harness/core/ledger.ts';
import { ifName, nsName } from '../../harness/core/names.ts';
import { startCli, type CliRun } from './cli.ts';

/** Start the device and wait for its "listening on PATH" line. */
export async function startReferenceDevice(args: string[], sock: string, state: string): Promise<CliRun> {
  const run = startCli(['reference-device', '--socket', sock, ...args], { VNETBENCH_STATE_DIR: state });
  const deadline = Date.now() + 15_000;
  while (!run.stderr().includes(`listening on ${sock}\n`)) {
    if (Date.now() > deadline || run.child.exitCode !== null) assert.fail(`device did not start: ${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return run;
}

/** A namespace without IPv6 (the kernel would send DAD/MLD frames of its own) holding one tap, up. */
export async function tapInNamespace(ledger: Ledger, id: string, role: string): Promise<{ ns: string; tap: string }> {
  const ns = nsName(id, role);
  const tap = ifName(id, role);
  ledger.add({ kind: 'netns', name: ns });
  await exec(['ip', 'netns', 'add', ns]);
  await exec(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  ledger.add({ kind: 'link', name: tap, netns: ns });
  await exec(['ip', '-n', ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
  await exec(['ip', '-n', ns, 'link', 'set', tap, 'up']);
  return { ns, tap };
}
