// Two "NIC ports cabled back to back" for real-NIC mode tests: a veth pair in this namespace,
// owned by the test (its own ledger), named vnb<id>x0 / vnb<id>x1. Real NICs are never touched.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exec } from '../../../harness/core/exec.ts';
import { Ledger } from '../../../harness/core/ledger.ts';
import { shortId } from '../../../harness/core/names.ts';

export interface FakePorts {
  nic: string;
  peerNic: string;
  ledger: Ledger;
  remove(): Promise<string[]>;
}

export async function fakePorts(opts: { peerMtu?: number } = {}): Promise<FakePorts> {
  const ledger = Ledger.create(`ports-${shortId()}`);
  const id = shortId();
  const nic = `vnb${id}x0`;
  const peerNic = `vnb${id}x1`;
  ledger.add({ kind: 'link', name: nic });
  await exec(['ip', 'link', 'add', nic, 'type', 'veth', 'peer', 'name', peerNic]);
  for (const dev of [nic, peerNic]) await exec(['sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`]);
  if (opts.peerMtu) await exec(['ip', 'link', 'set', 'dev', peerNic, 'mtu', String(opts.peerMtu)]);
  return { nic, peerNic, ledger, remove: () => ledger.teardown() };
}

export async function linkState(dev: string, ns?: string): Promise<{ up: boolean; mtu: number; master?: string } | undefined> {
  const r = await exec(ns ? ['ip', '-n', ns, '-j', 'link', 'show', 'dev', dev] : ['ip', '-j', 'link', 'show', 'dev', dev], { nothrow: true });
  if (r.code !== 0) return undefined;
  const l = (JSON.parse(r.stdout) as { flags: string[]; mtu: number; master?: string }[])[0]!;
  return { up: l.flags.includes('UP'), mtu: l.mtu, ...(l.master ? { master: l.master } : {}) };
}

export function tempStateDir(): { dir: string; restore(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-state-'));
  const prev = process.env.VNETBENCH_STATE_DIR;
  process.env.VNETBENCH_STATE_DIR = dir;
  return {
    dir,
    restore() {
      process.env.VNETBENCH_STATE_DIR = prev;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
