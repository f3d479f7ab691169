// Addresses and MACs of a run. Pure functions: the test link's subnet (198.18.0.0/24 by default,
// the RFC 2544 benchmarking range, used only inside namespaces the run creates), the host
// addresses in it, and locally administered MACs derived from the run id so two runs on one NIC
// never collide.
import { UsageError } from '../core/errors.ts';

export const DEFAULT_SUBNET = '198.18.0.0/24';
/** Host numbers inside the subnet: the peer end is .1, the guest .2. */
export const PEER_HOST = 1;
export const GUEST_HOST = 2;

export interface Subnet {
  network: number; // as an unsigned 32-bit integer
  prefixLen: number;
}

export function ipToInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/** Parse `a.b.c.d/len`; `where` names the config key for the error. */
export function parseSubnet(cidr: string, where = 'topology.subnet'): Subnet {
  const [ip, len, extra] = cidr.split('/');
  const addr = ipToInt(ip ?? '');
  const prefixLen = Number(len);
  if (addr === undefined || extra !== undefined || !/^\d{1,2}$/.test(len ?? '') || prefixLen > 32) {
    throw new UsageError(`${where}: "${cidr}" is not an IPv4 CIDR`, 'write it like 198.18.0.0/24');
  }
  if (prefixLen > 30) {
    throw new UsageError(`${where}: /${prefixLen} leaves no room for a peer and a guest address`, 'use a prefix of /30 or shorter');
  }
  const network = (addr & mask(prefixLen)) >>> 0;
  if (network !== addr) {
    throw new UsageError(`${where}: ${cidr} has host bits set`, `the network is ${intToIp(network)}/${prefixLen}`);
  }
  return { network, prefixLen };
}

export function contains(s: Subnet, ip: number): boolean {
  return ((ip & mask(s.prefixLen)) >>> 0) === s.network;
}

/** Host number n of the subnet; the network and broadcast addresses are refused. */
export function hostAddress(s: Subnet, n: number): string {
  const size = 2 ** (32 - s.prefixLen);
  if (n < 1 || n >= size - 1) throw new RangeError(`host ${n} does not fit in /${s.prefixLen}`);
  return intToIp(s.network + n);
}

export function isUsableHost(s: Subnet, ip: number): boolean {
  const size = 2 ** (32 - s.prefixLen);
  return contains(s, ip) && ip !== s.network && ip !== s.network + size - 1;
}

/** Roles get the last octet of the MAC: the id fills octets 2-4. */
export const MAC_ROLE = { peer: 0x01, guest: 0x02, bridge: 0xfb, wire: 0xfe } as const;

/**
 * `02:ii:ii:ii:00:rr`: first octet 0x02 = locally administered, unicast (IEEE 802 bit 1 set,
 * bit 0 clear); ii = the 6-hex-digit run id; rr = role (and queue or index when needed).
 */
export function macFor(id: string, role: number): string {
  if (!/^[0-9a-f]{6}$/.test(id)) throw new RangeError(`run id ${id} is not 6 hex digits`);
  if (!Number.isInteger(role) || role < 0 || role > 0xffff) throw new RangeError(`MAC role ${role} out of range`);
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return ['02', id.slice(0, 2), id.slice(2, 4), id.slice(4, 6), hex(role >> 8), hex(role & 255)].join(':');
}

export function isLocallyAdministeredUnicast(mac: string): boolean {
  const first = parseInt(mac.slice(0, 2), 16);
  return (first & 0x02) === 0x02 && (first & 0x01) === 0;
}
