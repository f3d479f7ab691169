// Two namespaces joined by a veth pair: "guest" (198.18.0.1) and "peer" (198.18.0.2), standing in
// for the guest and its peer until a real guest is wired in. Every object goes into the ledger
// before it is created; the caller tears the ledger down. Shared by the integration tests and the
// fixture capture script (fixtures/workloads/capture.ts).
import type { Ledger } from '../../../harness/core/ledger.ts';
import { exec } from '../../../harness/core/exec.ts';
import { ifName, nsName, shortId } from '../../../harness/core/names.ts';
import { hostSide, inNetns } from '../../../harness/workloads/host-side.ts';
import type { Sides } from '../../../harness/workloads/runner.ts';

export interface NsPair {
  id: string;
  guestNs: string;
  peerNs: string;
  guestIf: string;
  peerIf: string;
  guestIp: string;
  peerIp: string;
  sides: Sides;
}

export const GUEST_IP = '198.18.0.1';
export const PEER_IP = '198.18.0.2';

export async function createNsPair(ledger: Ledger): Promise<NsPair> {
  const id = shortId();
  const guestNs = nsName(id, 'gst');
  const peerNs = nsName(id, 'peer');
  const guestIf = ifName(id, 'g');
  const peerIf = ifName(id, 'p');
  for (const ns of [guestNs, peerNs]) {
    await ledger.make({ kind: 'netns', name: ns }, () => exec(['ip', 'netns', 'add', ns]));
  }
  // Created in the host namespace and moved: the ledger records it under its final namespace,
  // and deleting either namespace removes the pair.
  await ledger.make({ kind: 'link', name: guestIf, netns: guestNs }, () =>
    exec(['ip', 'link', 'add', guestIf, 'netns', guestNs, 'type', 'veth', 'peer', 'name', peerIf, 'netns', peerNs]),
  );
  for (const [ns, dev, ip] of [
    [guestNs, guestIf, GUEST_IP],
    [peerNs, peerIf, PEER_IP],
  ] as const) {
    await exec(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', dev]);
    await exec(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    await exec(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  }
  return {
    id,
    guestNs,
    peerNs,
    guestIf,
    peerIf,
    guestIp: GUEST_IP,
    peerIp: PEER_IP,
    sides: { guest: hostSide('guest', inNetns(guestNs), ledger), peer: hostSide('peer', inNetns(peerNs), ledger) },
  };
}
