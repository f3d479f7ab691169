// A macvtap on the wire and its character device opened by the harness, one fd per queue pair
// (each open of /dev/tapN adds a queue). The host half of the macvtap and macvtap-vhost
// backends.
//
// The node's name is tap<ifindex>, but ifindex is per namespace while /dev is global: two
// namespaces each with a macvtap at ifindex 4 both want /dev/tap4, and devtmpfs keeps the first
// one (measured here: the second run would open the first run's macvtap). So the macvtap gets an
// ifindex derived from the run id, and the node is used only if its device number matches the
// one in sysfs; otherwise we make our own node /dev/vnb-<id>-tap<ifindex> (recorded first).
import fs from 'node:fs';
import { exec, output } from '../core/exec.ts';
import type { LedgerScope } from '../core/ledger.ts';
import { ifName } from '../core/names.ts';
import { runStep } from '../topology/apply.ts';
import type { HostTopology } from '../topology/types.ts';
import type { PlanStep } from '../topology/plan.ts';
import { ifindexOf, inNs, ipIn, step } from './hostops.ts';

export type MacvtapMode = 'bridge' | 'vepa' | 'passthru';

export interface MacvtapDevice {
  name: string;
  netns?: string;
  ifindex: number;
  /** The character device node opened, and whether we made it (else devtmpfs did). */
  node: string;
  createdNode: boolean;
  /** major:minor from /sys/class/net/<name>/macvtap/tap<ifindex>/dev. */
  devnum: { major: number; minor: number };
  fds: number[];
  closeFds(): void;
}

/** 2^24 + the 24-bit run id: unique per run, far above what a namespace hands out by itself. */
export function macvtapIfindex(id: string): number {
  return 0x1000000 + parseInt(id, 16);
}

export function macvtapSteps(topo: HostTopology, mode: MacvtapMode): PlanStep[] {
  const name = ifName(topo.id, 'mv');
  const ns = topo.guestNs;
  // In passthru mode the macvtap takes over the lower device (promiscuous, its MAC): giving it
  // an address would change the NIC's MAC, so the guest MAC is left to the guest alone.
  const address = mode === 'passthru' ? [] : ['address', topo.guestMac];
  return [
    step(
      `macvtap ${name} on ${topo.wire} (mode ${mode})`,
      ipIn(ns, 'link', 'add', 'link', topo.wire, 'name', name, 'index', String(macvtapIfindex(topo.id)), ...address, 'type', 'macvtap', 'mode', mode),
      [{ kind: 'link', name, ...(ns ? { netns: ns } : {}) }],
    ),
    step(`${name} up`, ipIn(ns, 'link', 'set', 'dev', name, 'up')),
  ];
}

export function parseDevnum(text: string): { major: number; minor: number } {
  const m = /^(\d+):(\d+)\s*$/.exec(text.trim());
  if (!m) throw new Error(`unexpected device number "${text.trim()}"`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/** Linux dev_t as Node's fs.Stats.rdev reports it (new_encode_dev layout). */
export function rdevOf(d: { major: number; minor: number }): number {
  return (d.minor & 0xff) | ((d.major & 0xfff) << 8) | ((d.minor & ~0xff) << 12);
}

function nodeMatches(path: string, d: { major: number; minor: number }): boolean {
  const st = fs.statSync(path, { throwIfNoEntry: false });
  return Boolean(st?.isCharacterDevice() && st.rdev === rdevOf(d));
}

/** sysfs as seen from the macvtap's namespace (ip netns exec mounts that namespace's /sys). */
async function readDevnum(ns: string | undefined, name: string, ifindex: number) {
  const file = `/sys/class/net/${name}/macvtap/tap${ifindex}/dev`;
  return parseDevnum(await output(inNs(ns, ['cat', file])));
}

async function findOrMakeNode(scope: LedgerScope, id: string, ifindex: number, d: { major: number; minor: number }) {
  const devtmpfs = `/dev/tap${ifindex}`;
  // devtmpfs creates the node while the link is added; allow it a moment anyway.
  for (let i = 0; i < 10; i++) {
    if (nodeMatches(devtmpfs, d)) return { node: devtmpfs, createdNode: false };
    if (fs.existsSync(devtmpfs)) break; // someone else's device holds the name
    await new Promise((r) => setTimeout(r, 50));
  }
  const node = `/dev/vnb-${id}-tap${ifindex}`;
  await scope.make({ kind: 'file', path: node }, async () => {
    await exec(['mknod', '-m', '0600', node, 'c', String(d.major), String(d.minor)]);
  });
  if (!nodeMatches(node, d)) throw new Error(`${node} does not carry device ${d.major}:${d.minor} after mknod`);
  return { node, createdNode: true };
}

export async function setupMacvtap(scope: LedgerScope, topo: HostTopology, mode: MacvtapMode, queues: number): Promise<MacvtapDevice> {
  for (const s of macvtapSteps(topo, mode)) await runStep(scope, s);
  const name = ifName(topo.id, 'mv');
  const ns = topo.guestNs;
  const ifindex = await ifindexOf(ns, name);
  const devnum = await readDevnum(ns, name, ifindex);
  const { node, createdNode } = await findOrMakeNode(scope, topo.id, ifindex, devnum);
  const fds: number[] = [];
  const closeFds = () => {
    for (const fd of fds.splice(0)) fs.closeSync(fd);
  };
  try {
    for (let q = 0; q < queues; q++) {
      const fd = fs.openSync(node, fs.constants.O_RDWR);
      fds.push(fd);
      // The node could have been replaced between the check and the open: check the fd itself.
      if (fs.fstatSync(fd).rdev !== rdevOf(devnum)) throw new Error(`${node} changed under us (not ${devnum.major}:${devnum.minor})`);
    }
  } catch (e) {
    closeFds();
    throw e;
  }
  return { name, ...(ns ? { netns: ns } : {}), ifindex, node, createdNode, devnum, fds, closeFds };
}
