// What the host's namespace looks like before a real-NIC run touches it (`ip -j -d addr show`,
// default routes), and the safety checks on the NICs a user named. The checks are pure so unit
// tests run them on recorded real output.
import { exec } from '../core/exec.ts';
import { UsageError } from '../core/errors.ts';

export interface IpAddrInfo {
  family: 'inet' | 'inet6' | string;
  local: string;
  prefixlen: number;
  scope: string;
}

/** One element of `ip -j -d addr show` (the fields we use). */
export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  link_type: string;
  address?: string;
  master?: string;
  addr_info: IpAddrInfo[];
  linkinfo?: { info_kind?: string; info_slave_kind?: string };
}

export interface HostFacts {
  links: IpLink[];
  /** Interfaces that carry a default route (v4 or v6): the host's way out. */
  defaultRouteDevs: string[];
}

export async function readHostFacts(): Promise<HostFacts> {
  const links = JSON.parse((await exec(['ip', '-j', '-d', 'addr', 'show'])).stdout || '[]') as IpLink[];
  const devs = new Set<string>();
  for (const v of ['-4', '-6']) {
    const r = await exec(['ip', '-j', v, 'route', 'show', 'default'], { nothrow: true });
    if (r.code === 0 && r.stdout.trim()) for (const x of JSON.parse(r.stdout) as { dev?: string }[]) if (x.dev) devs.add(x.dev);
  }
  return { links, defaultRouteDevs: [...devs] };
}

export function findLink(facts: HostFacts, name: string): IpLink | undefined {
  return facts.links.find((l) => l.ifname === name);
}

export function isUp(l: IpLink): boolean {
  return l.flags.includes('UP');
}

/** Addresses that carry host traffic (global or site scope); link-local and host scope do not. */
export function routableAddresses(l: IpLink): string[] {
  return l.addr_info.filter((a) => a.scope === 'global' || a.scope === 'site').map((a) => `${a.local}/${a.prefixlen}`);
}

function known(facts: HostFacts): string {
  return facts.links.map((l) => l.ifname).join(', ') || '(none)';
}

/** A NIC the user named must exist here and be a real candidate; `key` is the config key. */
export function checkNamedNic(facts: HostFacts, name: string, key: string): IpLink {
  const l = findLink(facts, name);
  if (!l) {
    throw new UsageError(
      `${key}: no interface "${name}" in this network namespace`,
      `interfaces here: ${known(facts)} (ip link show)`,
    );
  }
  if (l.link_type === 'loopback' || l.flags.includes('LOOPBACK')) {
    throw new UsageError(`${key}: "${name}" is the loopback interface`, 'name an Ethernet port');
  }
  if (l.link_type !== 'ether') {
    throw new UsageError(`${key}: "${name}" is a ${l.link_type} link, not Ethernet`, 'name an Ethernet port');
  }
  if (l.master) {
    throw new UsageError(
      `${key}: "${name}" is enslaved to ${l.master}; using it would change that ${l.linkinfo?.info_slave_kind ?? 'master'}'s traffic`,
      `release it first (ip link set dev ${name} nomaster) or name another port`,
    );
  }
  return l;
}

/**
 * The peer port is moved into a namespace for the run, which takes its addresses and routes
 * with it: refuse a port that carries the host's traffic.
 */
export function checkPeerNic(facts: HostFacts, name: string, guestNic: string): IpLink {
  const l = checkNamedNic(facts, name, 'topology.peerNic');
  if (name === guestNic) {
    throw new UsageError(`topology.peerNic: "${name}" is also topology.nic`, 'name the second, back-to-back port');
  }
  const addrs = routableAddresses(l);
  if (addrs.length) {
    throw new UsageError(
      `topology.peerNic: "${name}" carries ${addrs.join(', ')}; moving it into the run's namespace would take them off the host`,
      'name a port without addresses (the back-to-back test port), or remove them first',
    );
  }
  if (facts.defaultRouteDevs.includes(name)) {
    throw new UsageError(`topology.peerNic: "${name}" carries a default route`, 'name the back-to-back test port');
  }
  return l;
}

/** Bridging a NIC moves its traffic onto the bridge: refuse one that carries addresses. */
export function checkBridgeable(l: IpLink, backend: string): void {
  const addrs = routableAddresses(l);
  if (addrs.length) {
    throw new UsageError(
      `backend ${backend} would bridge ${l.ifname}, which carries ${addrs.join(', ')}; the host would lose them while it is bridged`,
      'use a dedicated test port for topology.nic, or the macvtap backend (which leaves the NIC as it is)',
    );
  }
}
