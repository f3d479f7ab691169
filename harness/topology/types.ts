// Host topology: where the guest's "wire" is and who sits at the other end of it.
//
// Embedded (default, needs no NIC):
//   [guest ns: QEMU, backend objects (tap+bridge / macvtap) on `wire` (veth end)]
//        <== veth pair ==>  [peer ns: `peerIf` (veth end) with peerIp, workload servers]
// Real NIC: `wire` is the NIC the user named (QEMU in the host namespace); the peer is either a
// back-to-back port moved into the peer namespace for the run, or a remote address.
import type { Ledger } from '../core/ledger.ts';

export interface HostTopology {
  kind: 'embedded' | 'nic';
  /** Who is at the other end: our veth end, a back-to-back port moved in, or a remote host. */
  peerMode: 'veth' | 'nic' | 'remote';
  /** Short id shared by every object of this run (see core/names.ts). */
  id: string;
  /** Namespace that QEMU and the backend objects live in; undefined = host namespace. */
  guestNs?: string;
  /** The guest side's NIC: backends bridge a tap to it or put a macvtap on it. */
  wire: string;
  /** Namespace of the peer; undefined when the peer is a remote host. */
  peerNs?: string;
  peerIf?: string;
  peerIp: string;
  guestIp: string;
  prefixLen: number;
  /** The test link's subnet, e.g. 198.18.0.0/24. */
  subnet: string;
  /** MAC address to give the guest NIC (locally administered). */
  guestMac: string;
  /** Wrap argv to run in the guest-side namespace (identity when in the host namespace). */
  inGuestNs(argv: string[]): string[];
  /** Wrap argv to run in the peer namespace; throws for a remote peer. */
  inPeerNs(argv: string[]): string[];
}

export interface TopologyProvider {
  /** Create everything (each object recorded in the ledger before it is created). */
  create(ledger: Ledger): Promise<HostTopology>;
}
