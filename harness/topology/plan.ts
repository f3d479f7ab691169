// The topology as a plan: what exists after setup (the layout) and the ordered commands that
// make it, each carrying the ledger record written before it runs. Pure: given the config, the
// run id and (for real NICs) the host's facts, it returns data that unit tests can inspect and
// that apply.ts executes.
//
// Embedded:  netns vnb-<id>-g  [wire vnb<id>w]  <== veth ==>  [vnb<id>p 198.18.0.1/24]  netns vnb-<id>-p
// Real NIC:  host netns [wire = nic]  <== cable ==>  [peerNic 198.18.0.1/24] netns vnb-<id>-p
//            or [wire = nic] <== network ==> remotePeer
import type { Topology } from '../config/schema.ts';
import type { LedgerObject } from '../core/ledger.ts';
import { UsageError } from '../core/errors.ts';
import { ifName, nsName } from '../core/names.ts';
import {
  DEFAULT_SUBNET,
  GUEST_HOST,
  MAC_ROLE,
  PEER_HOST,
  hostAddress,
  intToIp,
  ipToInt,
  isUsableHost,
  macFor,
  parseSubnet,
  type Subnet,
} from './addressing.ts';
import { checkNamedNic, checkPeerNic, isUp, type HostFacts } from './hostfacts.ts';
import type { HostTopology } from './types.ts';

/** The data half of HostTopology (apply.ts adds the namespace wrappers). */
export type TopologyLayout = Omit<HostTopology, 'inGuestNs' | 'inPeerNs'>;

export interface PlanStep {
  /** One line for logs and the manifest. */
  what: string;
  /** Written to the ledger before argv runs; absent when the step only configures an object already recorded. */
  record?: LedgerObject[];
  argv: string[];
}

export interface TopologyPlan {
  layout: TopologyLayout;
  steps: PlanStep[];
}

const ipv6Off = (ns: string): PlanStep => ({
  what: `disable IPv6 in ${ns} (no router solicitations or MLD reports on the test link)`,
  argv: ['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'],
});

const ipn = (ns: string | undefined, ...args: string[]): string[] => (ns ? ['ip', '-n', ns, ...args] : ['ip', ...args]);

function newNamespace(ns: string): PlanStep[] {
  return [
    { what: `create namespace ${ns}`, record: [{ kind: 'netns', name: ns }], argv: ['ip', 'netns', 'add', ns] },
    ipv6Off(ns),
    { what: `loopback up in ${ns}`, argv: ipn(ns, 'link', 'set', 'dev', 'lo', 'up') },
  ];
}

function addressPeer(ns: string, dev: string, ip: string, prefixLen: number): PlanStep[] {
  return [
    { what: `${dev} up`, argv: ipn(ns, 'link', 'set', 'dev', dev, 'up') },
    { what: `peer address ${ip}/${prefixLen} on ${dev}`, argv: ipn(ns, 'addr', 'add', `${ip}/${prefixLen}`, 'dev', dev) },
  ];
}

export function planEmbedded(id: string): TopologyPlan {
  const subnet = parseSubnet(DEFAULT_SUBNET);
  const guestNs = nsName(id, 'g');
  const peerNs = nsName(id, 'p');
  const wire = ifName(id, 'w');
  const peerIf = ifName(id, 'p');
  const layout: TopologyLayout = {
    kind: 'embedded',
    peerMode: 'veth',
    id,
    guestNs,
    wire,
    peerNs,
    peerIf,
    ...addresses(subnet, id),
  };
  const steps: PlanStep[] = [
    ...newNamespace(guestNs),
    ...newNamespace(peerNs),
    {
      what: `veth ${wire} (in ${guestNs}) <-> ${peerIf} (in ${peerNs}): the wire`,
      // Both ends are created directly in their namespaces: nothing appears in the host's.
      record: [
        { kind: 'link', name: wire, netns: guestNs },
        { kind: 'link', name: peerIf, netns: peerNs },
      ],
      argv: [
        'ip', 'link', 'add', wire, 'netns', guestNs, 'address', macFor(id, MAC_ROLE.wire),
        'type', 'veth', 'peer', 'name', peerIf, 'netns', peerNs, 'address', macFor(id, MAC_ROLE.peer),
      ],
    },
    { what: `${wire} up`, argv: ipn(guestNs, 'link', 'set', 'dev', wire, 'up') },
    ...addressPeer(peerNs, peerIf, layout.peerIp, layout.prefixLen),
  ];
  return { layout, steps };
}

function addresses(subnet: Subnet, id: string) {
  return {
    peerIp: hostAddress(subnet, PEER_HOST),
    guestIp: hostAddress(subnet, GUEST_HOST),
    prefixLen: subnet.prefixLen,
    subnet: `${intToIp(subnet.network)}/${subnet.prefixLen}`,
    guestMac: macFor(id, MAC_ROLE.guest),
  };
}

type NicTopology = Extract<Topology, { kind: 'nic' }>;

/** Guest address for a remote peer: .2 unless that is the peer, then .3. */
function remoteAddresses(subnet: Subnet, remote: string, id: string) {
  const r = ipToInt(remote);
  if (r === undefined) {
    throw new UsageError(`topology.remotePeer: ${remote} is not an IPv4 address`, 'the test link is IPv4 only for now');
  }
  if (!isUsableHost(subnet, r)) {
    throw new UsageError(
      `topology.remotePeer: ${remote} is not a host address in ${intToIp(subnet.network)}/${subnet.prefixLen}`,
      'set topology.subnet to the test link\'s subnet',
    );
  }
  const base = addresses(subnet, id);
  const guestIp = base.guestIp === remote ? hostAddress(subnet, GUEST_HOST + 1) : base.guestIp;
  return { ...base, peerIp: remote, guestIp };
}

export function planNic(cfg: NicTopology, id: string, facts: HostFacts): TopologyPlan {
  const subnet = parseSubnet(cfg.subnet ?? DEFAULT_SUBNET);
  const nic = checkNamedNic(facts, cfg.nic, 'topology.nic');
  const steps: PlanStep[] = [];
  let layout: TopologyLayout;
  if (cfg.peerNic) {
    const port = checkPeerNic(facts, cfg.peerNic, cfg.nic);
    const peerNs = nsName(id, 'p');
    layout = { kind: 'nic', peerMode: 'nic', id, wire: cfg.nic, peerNs, peerIf: cfg.peerNic, ...addresses(subnet, id) };
    steps.push(...newNamespace(peerNs), {
      what: `move ${cfg.peerNic} into ${peerNs} for the run (moved back at teardown, ${isUp(port) ? 'up' : 'down'}, MTU ${port.mtu})`,
      record: [{ kind: 'moved-link', name: cfg.peerNic, netns: peerNs, restore: { up: isUp(port), mtu: port.mtu } }],
      argv: ['ip', 'link', 'set', 'dev', cfg.peerNic, 'netns', peerNs],
    });
    steps.push(...addressPeer(peerNs, cfg.peerNic, layout.peerIp, layout.prefixLen));
  } else if (cfg.remotePeer) {
    layout = { kind: 'nic', peerMode: 'remote', id, wire: cfg.nic, ...remoteAddresses(subnet, cfg.remotePeer, id) };
  } else {
    // The schema refuses this; a caller that bypassed it gets the same message.
    throw new UsageError('topology: name exactly one of peerNic (a back-to-back port) or remotePeer (an address)');
  }
  if (!isUp(nic)) {
    steps.unshift({
      what: `${cfg.nic} up (set down again at teardown)`,
      record: [{ kind: 'link-settings', name: cfg.nic, restore: { up: false } }],
      argv: ['ip', 'link', 'set', 'dev', cfg.nic, 'up'],
    });
  }
  return { layout, steps };
}

export function planTopology(cfg: Topology, id: string, facts?: HostFacts): TopologyPlan {
  if (cfg.kind === 'embedded') return planEmbedded(id);
  if (!facts) throw new Error('planTopology: real-NIC mode needs the host facts (readHostFacts())');
  return planNic(cfg, id, facts);
}
