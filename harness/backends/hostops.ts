// Small host operations backends share: `ip` in the right namespace, link facts, and offload
// changes (recorded with their original values when the link is not one the run created).
import { exec, output } from '../core/exec.ts';
import type { Recorder } from '../core/ledger.ts';
import type { HostTopology } from '../topology/types.ts';
import type { PlanStep } from '../topology/plan.ts';

/** `ip [-n ns] args...` */
export function ipIn(ns: string | undefined, ...args: string[]): string[] {
  return ns ? ['ip', '-n', ns, ...args] : ['ip', ...args];
}

export function inNs(ns: string | undefined, argv: string[]): string[] {
  return ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv;
}

export async function ifindexOf(ns: string | undefined, dev: string): Promise<number> {
  const links = JSON.parse(await output(ipIn(ns, '-j', 'link', 'show', 'dev', dev))) as { ifindex: number }[];
  const idx = links[0]?.ifindex;
  if (idx === undefined) throw new Error(`no ifindex for ${dev}${ns ? ` in ${ns}` : ''}`);
  return idx;
}

/** Did this run create the link (so its settings die with it), or is it the user's NIC? */
export function ownedByRun(topo: HostTopology, dev: string): boolean {
  return topo.kind === 'embedded' || dev.startsWith(`vnb${topo.id}`);
}

/** ethtool -K short names and the `ethtool -k` lines that report them. */
export const OFFLOAD_NAMES = {
  tx: 'tx-checksumming',
  tso: 'tcp-segmentation-offload',
  gso: 'generic-segmentation-offload',
  gro: 'generic-receive-offload',
} as const;
export type OffloadName = keyof typeof OFFLOAD_NAMES;

/** Parse `ethtool -k` text: feature -> on/off (the "[fixed]" suffix is dropped). */
export function parseEthtoolK(text: string): Record<string, 'on' | 'off'> {
  const out: Record<string, 'on' | 'off'> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z0-9-]+):\s+(on|off)\b/.exec(line);
    if (m) out[m[1]!] = m[2] as 'on' | 'off';
  }
  return out;
}

/**
 * Set offloads on a link. For a link the run did not create, the original values are recorded
 * first (a link-settings ledger entry) so teardown and cleanup put them back.
 */
export async function setOffloads(
  rec: Recorder,
  topo: HostTopology,
  ns: string | undefined,
  dev: string,
  want: Partial<Record<OffloadName, 'on' | 'off'>>,
): Promise<void> {
  const names = Object.keys(want) as OffloadName[];
  const argv = inNs(ns, ['ethtool', '-K', dev, ...names.flatMap((n) => [n, want[n]!])]);
  const run = async () => {
    const r = await exec(argv, { nothrow: true });
    // ethtool exits non-zero when a feature is fixed; what matters is what the link ended with.
    if (r.code !== 0 && !/Could not change any device features|Actual changes/.test(r.stderr + r.stdout)) {
      throw new Error(`${argv.join(' ')}: ${r.stderr.trim()}`);
    }
  };
  if (ownedByRun(topo, dev)) return run();
  const now = parseEthtoolK(await output(inNs(ns, ['ethtool', '-k', dev])));
  const restore: Record<string, 'on' | 'off'> = {};
  for (const n of names) {
    const cur = now[OFFLOAD_NAMES[n]];
    if (cur && cur !== want[n]) restore[n] = cur;
  }
  if (Object.keys(restore).length === 0) return;
  await rec.make({ kind: 'link-settings', name: dev, ...(ns ? { netns: ns } : {}), restore: { offloads: restore } }, run);
}

export function step(what: string, argv: string[], record?: PlanStep['record']): PlanStep {
  return { what, argv, ...(record ? { record } : {}) };
}
