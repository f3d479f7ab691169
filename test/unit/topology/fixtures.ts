// Loaders for the recorded real outputs in fixtures/ (each file says how it was captured).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostCapabilities } from '../../../harness/doctor/capabilities.ts';
import type { HostFacts, IpLink } from '../../../harness/topology/hostfacts.ts';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');

/** This machine's namespace: lo, ifb0, ifb1 (idle, no addresses), eth0 (addresses, default routes). */
export function hostFacts(): HostFacts {
  const d = JSON.parse(read('host-ip.json')) as { addr: IpLink[]; routes4: { dev: string }[]; routes6: { dev: string }[] };
  return { links: d.addr, defaultRouteDevs: [...new Set([...d.routes4, ...d.routes6].map((r) => r.dev))] };
}

/** veth pair standing in for NIC ports: vnbf1f1f1x0 (up, MTU 9000), x1 (enslaved to vnbf1f1f1br). */
export function vethPortFacts(): HostFacts {
  const d = JSON.parse(read('veth-ports-ip.json')) as { addr: IpLink[] };
  return { links: d.addr, defaultRouteDevs: [] };
}

export function hostCapabilities(): HostCapabilities {
  return (JSON.parse(read('host-capabilities.json')) as { caps: HostCapabilities }).caps;
}

export function ethtoolKVeth(): string {
  return read('ethtool-k-veth.txt');
}
