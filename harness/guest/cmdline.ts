// The one place that builds QEMU's command line and the guest kernel's. Pure functions, so the
// unit tests pin every argument; qemu.ts only runs what these return.
import type { GuestSpec } from './types.ts';

export interface QemuPaths {
  /** Unix socket our QMP server listens on; QEMU connects to it. */
  qmpSock: string;
  /** Unix socket for the agent's virtio-serial port; QEMU connects to it. */
  agentSock: string;
  /** The guest's serial console (kernel messages, panics). */
  consoleLog: string;
}

export interface BootTuning {
  /** q35 (PCIe) is what a current guest sees; pc (i440fx) boots a little faster. Both are PCI. */
  machine: 'q35' | 'pc';
  /** Kernel parameters appended after ours (a user's, or experiments). */
  extraAppend: string[];
  /** Firmware image (-bios); undefined: QEMU's default SeaBIOS. */
  bios?: string;
  /**
   * Keep the guest's memory barriers under TCG (see tcgSmp). Off only to reproduce the lost
   * notification (`vnetbench repro tcg-stall`).
   */
  tcgBarriers: boolean;
  /** More QEMU arguments (debug logging for a reproducer), placed before the backend's. */
  qemuArgs?: string[];
}

export const DEFAULT_TUNING: BootTuning = { machine: 'q35', extraAppend: [], tcgBarriers: true };

/**
 * -accel and -smp. Under TCG, QEMU before 8.0 drops the guest's memory barriers (mfence, lock
 * prefixes' ordering) from translated code unless the machine may have more than one CPU
 * (CF_PARALLEL is set only when smp.max_cpus > 1). QEMU's virtio still runs in its I/O thread,
 * in parallel with the vCPU, so the guest's "store avail.idx; mb; load avail_event" and QEMU's
 * "store avail_event; mb; load avail.idx" can both read stale values: no kick is sent, none is
 * awaited, and the TX queue stalls for good. Upstream fixed it in 8.0 ("tcg: Do not elide memory
 * barriers for !CF_PARALLEL"). One possible-but-absent CPU (maxcpus=2) turns the barriers back on
 * for one vCPU; thread=multi makes sure the per-vCPU-thread TCG that honours CF_PARALLEL is used.
 */
export function accelArgs(accel: 'kvm' | 'tcg', smp: number, tuning: Pick<BootTuning, 'tcgBarriers'>): string[] {
  if (accel === 'kvm') return ['-accel', 'kvm', '-cpu', 'host', '-smp', String(smp)];
  const barriers = tuning.tcgBarriers && smp < 2;
  return ['-accel', 'tcg,thread=multi', '-smp', barriers ? `${smp},maxcpus=2` : String(smp)];
}

/** Name of the agent's virtio-serial port; the guest finds its /dev/vportNpM by this name. */
export const AGENT_PORT = 'vnb.agent';

/**
 * Kernel parameters that shorten a TCG boot without changing the virtio-net path under test.
 * Each was measured (see the README's guest image section); none touches networking.
 */
export const FAST_BOOT_APPEND = [
  'quiet', // a serial console costs ~0.1 s per hundred lines under TCG
  'panic=-1', // reboot at once on panic; with -no-reboot QEMU then exits and the launcher reports it
  'cryptomgr.notests', // no crypto self-tests at boot
  'audit=0',
  'i8042.noaux', // -nodefaults still leaves the PS/2 controller on q35: do not probe it
  'i8042.nokbd',
  'i8042.nopnp',
  'tsc=reliable', // no clocksource watchdog or delayed TSC refinement
  'no_timer_check', // skip the IO-APIC timer check (standard for guests)
  '8250.nr_uarts=1', // ttyS0 only
  // Two initcalls that take ~100 ms under TCG and serve nothing here: kprobe trace events and
  // the SP800-108 KDF self-test. Names a kernel lacks are ignored.
  'initcall_blacklist=init_kprobe_trace,crypto_kdf108_init',
];

/** Guest kernel command line: console, boot tuning, and what the guest's rc reads (vnb.*). */
export function kernelCmdline(spec: Pick<GuestSpec, 'ip' | 'prefixLen' | 'netArgs'>, tuning: BootTuning = DEFAULT_TUNING): string {
  const parts = ['console=ttyS0', ...FAST_BOOT_APPEND, `vnb.ip=${spec.ip}/${spec.prefixLen}`];
  const mac = guestMac(spec.netArgs);
  if (mac) parts.push(`vnb.mac=${mac}`);
  return [...parts, ...tuning.extraAppend].join(' ');
}

/** The MAC the backend gave the guest NIC (mac=... in its -device), so the guest picks that NIC. */
export function guestMac(netArgs: readonly string[]): string | undefined {
  for (const a of netArgs) {
    const m = /(?:^|,)mac=([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})(?:,|$)/.exec(a);
    if (m) return m[1].toLowerCase();
  }
  return undefined;
}

/**
 * The fd numbers QEMU sees for spec.passFds: the launcher puts passFds[i] at fd 3 + i (after
 * stdin, stdout, stderr). Render the backend's arguments with these: net.args(childFds(net.passFds)).
 */
export function childFds(passFds: readonly number[]): number[] {
  return passFds.map((_, i) => 3 + i);
}

/** QEMU's argv without the binary. spec.netArgs already name the child fds (see childFds). */
export function buildQemuArgs(spec: GuestSpec, paths: QemuPaths, tuning: BootTuning = DEFAULT_TUNING): string[] {
  const machine = [tuning.machine, ...(spec.sharedMemory ? ['memory-backend=vnbmem'] : [])].join(',');
  return [
    '-name', `${spec.name},debug-threads=on`,
    '-nodefaults',
    '-no-user-config',
    '-display', 'none',
    '-machine', machine,
    ...accelArgs(spec.accel, spec.smp, tuning),
    ...(tuning.bios ? ['-bios', tuning.bios] : []),
    '-m', `${spec.memMiB}M`,
    ...(spec.sharedMemory
      ? ['-object', `memory-backend-memfd,id=vnbmem,size=${spec.memMiB}M,share=on`]
      : []),
    '-kernel', spec.image.kernel,
    '-initrd', spec.image.initrd,
    '-append', kernelCmdline(spec, tuning),
    '-serial', `file:${paths.consoleLog}`,
    '-chardev', `socket,id=vnbqmp,path=${paths.qmpSock}`,
    '-mon', 'chardev=vnbqmp,mode=control',
    '-device', 'virtio-serial-pci,id=vnbser,max_ports=2',
    '-chardev', `socket,id=vnbagent,path=${paths.agentSock}`,
    '-device', `virtserialport,bus=vnbser.0,chardev=vnbagent,name=${AGENT_PORT}`,
    '-no-reboot',
    '-msg', 'timestamp=on',
    ...(tuning.qemuArgs ?? []),
    ...spec.netArgs,
  ];
}

/** Run inside a network namespace: `ip netns exec` execs the program, so the pid stays QEMU's. */
export function wrapNetns(netns: string | undefined, argv: string[]): string[] {
  return netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
}
