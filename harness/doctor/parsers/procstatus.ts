// Capabilities from /proc/self/status ("CapEff:\t000001ffffffffff"), decoded for the bits vnetbench
// needs: creating namespaces and links, opening /dev/net/tun and /dev/kvm, setting rlimits.
export const CAPS = { CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_SYS_ADMIN: 21, CAP_SYS_RESOURCE: 24 } as const;
export type CapName = keyof typeof CAPS;

export function parseCapEff(status: string): bigint | undefined {
  const m = /^CapEff:\s*([0-9a-f]+)\s*$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

export function hasCap(capEff: bigint, cap: CapName): boolean {
  return (capEff & (1n << BigInt(CAPS[cap]))) !== 0n;
}
