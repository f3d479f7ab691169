// A tap bridged to the wire, in the guest-side namespace (the host's in real-NIC mode): the
// host half of the copy and vhost backends. QEMU, running in that namespace, opens the tap by
// name. With queues > 1 the tap is created multi_queue, as QEMU's queues=N attach requires.
import type { LedgerScope } from '../core/ledger.ts';
import { ifName } from '../core/names.ts';
import { runStep } from '../topology/apply.ts';
import { MAC_ROLE, macFor } from '../topology/addressing.ts';
import { checkBridgeable, findLink, readHostFacts } from '../topology/hostfacts.ts';
import type { HostTopology } from '../topology/types.ts';
import type { PlanStep } from '../topology/plan.ts';
import { ipIn, step } from './hostops.ts';

export interface TapBridge {
  tap: string;
  bridge: string;
  /** Namespace both live in (undefined: the host's). */
  netns?: string;
}

export function tapBridgeNames(topo: HostTopology): TapBridge {
  return { tap: ifName(topo.id, 't0'), bridge: ifName(topo.id, 'br'), ...(topo.guestNs ? { netns: topo.guestNs } : {}) };
}

/** The steps, in order (pure: unit tests check them). */
export function tapBridgeSteps(topo: HostTopology, queues: number): PlanStep[] {
  const { tap, bridge, netns } = tapBridgeNames(topo);
  const ipv6Off = (dev: string): PlanStep[] =>
    // Our namespaces already default to no IPv6; in the host's, keep our links quiet the same way.
    netns ? [] : [step(`no IPv6 on ${dev}`, ['sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`])];
  return [
    step(`bridge ${bridge}`, ipIn(netns, 'link', 'add', bridge, 'address', macFor(topo.id, MAC_ROLE.bridge), 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'), [
      { kind: 'link', name: bridge, ...(netns ? { netns } : {}) },
    ]),
    ...ipv6Off(bridge),
    step(
      `tap ${tap}${queues > 1 ? ' (multi_queue)' : ''}`,
      ipIn(netns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap', ...(queues > 1 ? ['multi_queue'] : [])),
      [{ kind: 'link', name: tap, ...(netns ? { netns } : {}) }],
    ),
    ...ipv6Off(tap),
    step(`${tap} into ${bridge}`, ipIn(netns, 'link', 'set', 'dev', tap, 'master', bridge)),
    // Deleting the bridge releases the wire, so this needs no record of its own.
    step(`${topo.wire} into ${bridge}`, ipIn(netns, 'link', 'set', 'dev', topo.wire, 'master', bridge)),
    step(`${tap} up`, ipIn(netns, 'link', 'set', 'dev', tap, 'up')),
    step(`${bridge} up`, ipIn(netns, 'link', 'set', 'dev', bridge, 'up')),
  ];
}

export async function setupTapBridge(scope: LedgerScope, topo: HostTopology, queues: number, backend: string): Promise<TapBridge> {
  if (topo.kind === 'nic') {
    const wire = findLink(await readHostFacts(), topo.wire);
    if (!wire) throw new Error(`topology.nic ${topo.wire} disappeared`);
    checkBridgeable(wire, backend);
  }
  for (const s of tapBridgeSteps(topo, queues)) await runStep(scope, s);
  return tapBridgeNames(topo);
}
