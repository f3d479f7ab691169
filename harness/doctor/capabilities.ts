// What doctor found, in the shape backends and suites consume. Filled by doctor/probe.ts.
export interface Evidence {
  ok: boolean;
  /** One line a user can check: the command, file or syscall result it rests on. */
  evidence: string;
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
  kvm: Evidence; // a short guest boot succeeded under KVM
  tcg: Evidence; // QEMU is installed and can run TCG
  qemu: Evidence & { version?: string; netdevs?: string[] };
  tools: Record<'netperf' | 'netserver' | 'iperf3' | 'sockperf' | 'testpmd', Evidence & { version?: string }>;
}
