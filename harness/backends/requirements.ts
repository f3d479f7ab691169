// Availability as a pure function of HostCapabilities: each backend lists its requirements,
// most specific first (so the first reason is the one that matters: "/dev/vhost-net missing"),
// and decide() turns them into an Availability with the evidence doctor recorded.
import type { Evidence, HostCapabilities } from '../doctor/capabilities.ts';
import type { Availability } from './types.ts';

export interface Requirement {
  ok: boolean;
  /** What it is, for the runnable reason ("tap"). */
  name: string;
  /** Why it fails, when it does ("/dev/vhost-net missing"). */
  missing: string;
  evidence: string;
  fix: string;
}

export function need(e: Evidence, name: string, missing: string, fix: string): Requirement {
  return { ok: e.ok, name, missing, evidence: e.evidence, fix };
}

const ABSENT = /ENOENT|no such file|missing|absent|not found|does not exist|not present/i;

export const VHOST_NET_FIX =
  'load the vhost_net module (modprobe vhost_net) or build the host kernel with CONFIG_VHOST_NET=m or =y, then check that /dev/vhost-net exists';

export function vhostNet(caps: HostCapabilities): Requirement {
  const e = caps.vhostNet;
  // "missing" only when doctor saw the node absent; a present but unusable node says so.
  const missing = !e.ok && !ABSENT.test(e.evidence) ? '/dev/vhost-net unusable' : '/dev/vhost-net missing';
  return need(e, '/dev/vhost-net', missing, VHOST_NET_FIX);
}

export function root(caps: HostCapabilities): Requirement {
  return need(caps.root, 'root', 'not running as root', 'run vnetbench as root (namespaces, links and device nodes need CAP_NET_ADMIN and CAP_MKNOD)');
}

export function netns(caps: HostCapabilities): Requirement {
  return need(caps.netns, 'network namespaces', 'network namespaces unavailable', 'enable CONFIG_NET_NS and run as root');
}

export function tun(caps: HostCapabilities): Requirement {
  return need(caps.tun, 'tap', '/dev/net/tun unusable', 'enable CONFIG_TUN (modprobe tun) and check /dev/net/tun');
}

export function macvtap(caps: HostCapabilities): Requirement {
  return need(caps.macvtap, 'macvtap', 'macvtap unavailable', 'enable CONFIG_MACVTAP (modprobe macvtap)');
}

export function qemuNetdev(caps: HostCapabilities, netdev: string): Requirement {
  const q = caps.qemu;
  const listed = q.netdevs === undefined || q.netdevs.includes(netdev);
  return {
    ok: q.ok && listed,
    name: `QEMU -netdev ${netdev}`,
    missing: q.ok ? `QEMU has no -netdev ${netdev}` : 'QEMU missing',
    evidence: q.ok && q.netdevs ? `qemu netdevs: ${q.netdevs.join(', ')}` : q.evidence,
    fix: q.ok ? `use a QEMU built with the ${netdev} netdev (qemu.binary)` : 'install qemu-system-x86 (vnetbench setup)',
  };
}

export function veth(caps: HostCapabilities): Requirement {
  return need(caps.veth, 'veth', 'veth pairs unavailable', 'enable CONFIG_VETH');
}

export function bridge(caps: HostCapabilities): Requirement {
  return need(caps.bridge, 'bridge', 'Linux bridge unavailable', 'enable CONFIG_BRIDGE');
}

export function afPacket(caps: HostCapabilities): Requirement {
  return need(caps.afPacket, 'AF_PACKET', 'AF_PACKET sockets unavailable', 'enable CONFIG_PACKET and run with CAP_NET_RAW');
}

/** A guest must boot: KVM when usable, otherwise TCG. */
export function accel(caps: HostCapabilities): Requirement {
  const ok = caps.kvm.ok || caps.tcg.ok;
  return {
    ok,
    name: caps.kvm.ok ? 'KVM' : 'TCG',
    missing: 'no accelerator boots a guest',
    evidence: caps.kvm.ok ? caps.kvm.evidence : caps.tcg.evidence,
    fix: 'install qemu-system-x86 (vnetbench setup); see vnetbench doctor',
  };
}

export function testpmd(caps: HostCapabilities): Requirement {
  return need(caps.tools.testpmd, 'dpdk-testpmd', 'dpdk-testpmd missing', 'install dpdk-dev (it carries dpdk-testpmd): vnetbench setup');
}

export function decide(reqs: Requirement[]): Availability {
  const failed = reqs.filter((r) => !r.ok);
  if (failed.length === 0) {
    return { runnable: true, reason: `has ${reqs.map((r) => r.name).join(', ')}` };
  }
  return {
    runnable: false,
    reason: failed.map((r) => `${r.missing} (${r.evidence})`).join('; '),
    fix: [...new Set(failed.map((r) => r.fix))].join('; '),
  };
}
