// The one requirement library: what a backend needs from the host, as pure functions of doctor's
// HostCapabilities. Each backend file lists its requirements, most specific first (so the first
// reason is the one that matters: "/dev/vhost-net missing"), and decide() turns the list into the
// Availability that both `vnetbench doctor` and `vnetbench run` report.
import type { Evidence, HostCapabilities } from '../doctor/capabilities.ts';
import type { Availability } from './types.ts';

export interface Requirement {
  ok: boolean;
  /** What is needed, the same on every host ("tap (/dev/net/tun)"): listed in `requires`. */
  name: string;
  /** The cause when unmet, in the words users grep for ("/dev/vhost-net missing"). */
  missing: string;
  /** What doctor saw. */
  evidence: string;
  /** What to install or enable. */
  fix: string;
  /** For a need met one of several ways (KVM or TCG, io_uring or Linux AIO): which one, when met. */
  how?: string;
}

export function need(e: Evidence, name: string, missing: string, fix: string): Requirement {
  return { ok: e.ok, name, missing, evidence: e.evidence, fix };
}

/** A requirement that is one doctor probe, as a function of the capabilities. */
const probe =
  (pick: (c: HostCapabilities) => Evidence, name: string, missing: string, fix: string) =>
  (caps: HostCapabilities): Requirement =>
    need(pick(caps), name, missing, fix);

const ABSENT = /ENOENT|no such file|missing|absent|not found|does not exist|not present/i;

export const VHOST_NET_FIX =
  'load the vhost_net module (modprobe vhost_net) or build the host kernel with CONFIG_VHOST_NET=m or =y, then check that /dev/vhost-net exists';

export function vhostNet(caps: HostCapabilities): Requirement {
  const e = caps.vhostNet;
  // "missing" only when doctor saw the node absent; a present but unusable node says so.
  const missing = !e.ok && !ABSENT.test(e.evidence) ? '/dev/vhost-net unusable' : '/dev/vhost-net missing';
  return need(e, 'vhost-net (/dev/vhost-net)', missing, VHOST_NET_FIX);
}

export const root = probe((c) => c.root, 'root', 'not running as root', 'run vnetbench as root (it creates namespaces, links and device nodes: CAP_NET_ADMIN, CAP_MKNOD)');
export const netns = probe((c) => c.netns, 'network namespaces', 'network namespaces unavailable', 'enable CONFIG_NET_NS and run as root');
export const tun = probe((c) => c.tun, 'tap (/dev/net/tun)', '/dev/net/tun unusable', 'enable CONFIG_TUN (modprobe tun) and check /dev/net/tun');
export const macvtap = probe((c) => c.macvtap, 'macvtap', 'macvtap unavailable', 'enable CONFIG_MACVTAP (modprobe macvtap)');
export const veth = probe((c) => c.veth, 'veth', 'veth pairs unavailable', 'enable CONFIG_VETH');
export const bridge = probe((c) => c.bridge, 'bridge', 'Linux bridge unavailable', 'enable CONFIG_BRIDGE');
export const afPacket = probe((c) => c.afPacket, 'AF_PACKET sockets', 'AF_PACKET sockets unavailable', 'enable CONFIG_PACKET and run with CAP_NET_RAW');
export const testpmd = probe(
  (c) => c.tools.testpmd,
  'dpdk-testpmd',
  'dpdk-testpmd missing',
  'vnetbench setup --with dpdk (installs dpdk-dev, which carries dpdk-testpmd)',
);

export function qemuNetdev(caps: HostCapabilities, netdev: string): Requirement {
  const q = caps.qemu;
  // An unknown list (older probe output) is not held against QEMU; an empty one is.
  const listed = q.netdevs === undefined || q.netdevs.includes(netdev);
  return {
    ok: q.ok && listed,
    name: `QEMU -netdev ${netdev}`,
    missing: q.ok ? `QEMU has no -netdev ${netdev}` : 'QEMU missing',
    evidence: q.ok && q.netdevs ? `QEMU ${q.version ?? '?'} -netdev help lists: ${q.netdevs.join(', ')}` : q.evidence,
    fix: q.ok
      ? `use a QEMU built with the ${netdev} netdev (qemu.binary; Debian's qemu-system-x86 has it)`
      : 'install qemu-system-x86 (vnetbench setup)',
  };
}

/** A guest must boot: KVM when usable, otherwise TCG. */
export function accel(caps: HostCapabilities): Requirement {
  const { kvm, tcg } = caps;
  return {
    ok: kvm.ok || tcg.ok,
    name: 'QEMU accelerator (KVM or TCG)',
    missing: 'no accelerator boots a guest',
    evidence: kvm.ok ? kvm.evidence : tcg.ok ? tcg.evidence : `KVM: ${kvm.evidence}; TCG: ${tcg.evidence}`,
    fix: 'install qemu-system-x86 (vnetbench setup); see vnetbench doctor',
    how: kvm.ok ? 'KVM boots guests' : 'guests run under TCG (KVM not usable)',
  };
}

/** The AIO backends' engines: io_uring or Linux AIO must work (the run config picks which). */
export function asyncIo(caps: HostCapabilities): Requirement {
  const { ioUring, linuxAio } = caps;
  return {
    ok: ioUring.ok || linuxAio.ok,
    name: 'io_uring or Linux AIO',
    missing: 'neither io_uring nor Linux AIO works',
    evidence: `io_uring: ${ioUring.evidence}; Linux AIO: ${linuxAio.evidence}`,
    fix:
      'allow io_uring (CONFIG_IO_URING, sysctl kernel.io_uring_disabled=0, liburing2) ' +
      'or Linux AIO (CONFIG_AIO, fs.aio-max-nr, libaio1)',
    how: ioUring.ok ? 'io_uring works' : 'Linux AIO works (io_uring does not)',
  };
}

/** What every backend needs to boot a guest behind `-netdev <netdev>` in run-owned namespaces. */
export function guestRequirements(caps: HostCapabilities, netdev: 'tap' | 'vhost-user'): Requirement[] {
  return [root(caps), netns(caps), veth(caps), qemuNetdev(caps, netdev), accel(caps)];
}

/** A tap bridged to the wire (copy, vhost, aio-tap). */
export function tapBridge(caps: HostCapabilities): Requirement[] {
  return [tun(caps), bridge(caps)];
}

export function decide(reqs: Requirement[]): Availability {
  const unique = [...new Map(reqs.map((r) => [r.name, r])).values()];
  const requires = unique.map((r) => r.name);
  const failed = unique.filter((r) => !r.ok);
  if (failed.length === 0) {
    const how = unique.flatMap((r) => (r.how ? [r.how] : []));
    return { runnable: true, requires, reason: [`all ${requires.length} requirements met (${requires.join(', ')})`, ...how].join('; ') };
  }
  return {
    runnable: false,
    requires,
    reason: failed.map((r) => `${r.missing} (${r.evidence})`).join('; '),
    fix: [...new Set(failed.map((r) => r.fix))].join('; '),
  };
}
