// A run-owned network namespace holding one veth pair: the device under test attaches to one end
// (`dutIf`), the suite injects and captures frames on the other (`probeIf`). Both ends live in
// the namespace, so no frame ever reaches a host interface. IPv6 is disabled in the namespace
// before the links exist, so the kernel sends nothing of its own (no DAD or MLD) that would show
// up in the device's RX ring; offloads are off because DPDK's af_packet PMD cannot take GSO frames.
import { exec } from '../core/exec.ts';
import { ifName, nsName } from '../core/names.ts';
import type { Ledger } from '../core/ledger.ts';

export interface VethNamespace {
  ns: string;
  dutIf: string;
  probeIf: string;
}

/** Every offload ethtool can turn off on a veth; "fixed" ones are reported but not fatal. */
const OFFLOADS_OFF = ['rx', 'off', 'tx', 'off', 'sg', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off'];

export async function createVethNamespace(ledger: Ledger, id: string, role = 'dut'): Promise<VethNamespace> {
  const ns = nsName(id, role);
  const dutIf = ifName(id, 'd');
  const probeIf = ifName(id, 'p');
  ledger.add({ kind: 'netns', name: ns });
  await exec(['ip', 'netns', 'add', ns]);
  await exec(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  ledger.add({ kind: 'link', name: dutIf, netns: ns });
  ledger.add({ kind: 'link', name: probeIf, netns: ns });
  await exec(['ip', '-n', ns, 'link', 'add', dutIf, 'type', 'veth', 'peer', 'name', probeIf]);
  for (const dev of [dutIf, probeIf]) {
    await exec(['ip', 'netns', 'exec', ns, 'ethtool', '-K', dev, ...OFFLOADS_OFF]);
    await exec(['ip', '-n', ns, 'link', 'set', dev, 'up']);
  }
  return { ns, dutIf, probeIf };
}
