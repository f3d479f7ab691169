// What doctor found, in the shape backends and suites consume. Filled by doctor/probe.ts.
import type { KvmSituation } from './parsers/accel.ts';

export interface Evidence {
  ok: boolean;
  /** One line a user can check: the command, file or syscall result it rests on. */
  evidence: string;
}

/** What some probes add to their evidence: why, in one sentence, and what to do when not ok. */
export interface ProbeVerdict {
  reason?: string;
  fix?: string;
}

export type ToolName = 'netperf' | 'netserver' | 'iperf3' | 'sockperf' | 'testpmd';

export interface NicReport {
  name: string;
  /** `ethtool -i`: driver, firmware-version, bus-info. */
  driver?: string;
  firmware?: string;
  busInfo?: string;
  speedMbps?: number;
  linkDetected?: boolean;
  /** `ethtool -l`: combined (or rx/tx) channels, maximum and current. */
  channels?: { max?: number; current?: number };
  /** `ethtool -k`: every feature, on/off and whether the driver fixes it. */
  offloads?: Record<string, { on: boolean; fixed: boolean }>;
  /** /sys/.../sriov_totalvfs; undefined when the device has no SR-IOV capability. */
  sriovTotalVfs?: number;
  /** l2-fwd-offload (VMDq through macvlan): on/off, and whether it can be changed. */
  l2FwdOffload?: { on: boolean; fixed: boolean };
  /** One line per command that failed, so a partial report still says why. */
  problems: string[];
}

export interface HostCapabilities {
  root: Evidence;
  tun: Evidence; // /dev/net/tun present and a tap actually created
  macvlan: Evidence;
  macvtap: Evidence;
  netns: Evidence;
  vhostNet: Evidence & { features?: bigint };
  ioUring: Evidence;
  linuxAio: Evidence;
  kvm: Evidence & ProbeVerdict & { situation?: KvmSituation }; // a short guest boot succeeded under KVM
  tcg: Evidence & ProbeVerdict; // QEMU is installed and can run TCG
  qemu: Evidence & { version?: string; netdevs?: string[] };
  tools: Record<ToolName, Evidence & { version?: string }>;
  // Added with doctor (issue 2):
  veth: Evidence; // a veth pair actually created (peer namespaces, testpmd's af_packet side)
  bridge: Evidence; // a bridge actually created (the copy backend's tap is bridged to the peer)
  afPacket: Evidence; // AF_PACKET raw socket opened (vhost-raw, testpmd net_af_packet)
  nics: NicReport[]; // physical NICs (/sys/class/net/* with a device link); may be empty
  host: { bootId: string; kernel: string };
}
