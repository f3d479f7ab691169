// Which backends can run on this host, and if not exactly why and what to do: a pure function of
// HostCapabilities, so `vnetbench run` decides from the same facts doctor prints. Each backend
// lists its requirements; a requirement names the capability, its evidence and the fix.
import { BACKENDS, type BackendName } from '../config/schema.ts';
import type { Availability } from '../backends/types.ts';
import type { Evidence, HostCapabilities } from './capabilities.ts';

interface Requirement {
  what: string;
  check(c: HostCapabilities): Evidence;
  fix: string;
  /** A requirement met in one of several ways (KVM or TCG, io_uring or AIO) says which in the reason. */
  choice?: boolean;
}

const cap = (what: string, pick: (c: HostCapabilities) => Evidence, fix: string): Requirement => ({ what, check: pick, fix });

const root = cap('root', (c) => c.root, 'run vnetbench as root (it creates namespaces, links and device nodes)');
const netns = cap('network namespaces', (c) => c.netns, 'a kernel with CONFIG_NET_NS, run as root');
const veth = cap('veth', (c) => c.veth, 'a kernel with CONFIG_VETH');
const bridge = cap('bridge', (c) => c.bridge, 'a kernel with CONFIG_BRIDGE');
const tun = cap('tap (/dev/net/tun)', (c) => c.tun, 'a kernel with CONFIG_TUN (modprobe tun) and /dev/net/tun');
const macvtap = cap('macvtap', (c) => c.macvtap, 'a kernel with CONFIG_MACVTAP (modprobe macvtap)');
const vhostNet = cap('vhost-net (/dev/vhost-net)', (c) => c.vhostNet, 'a host kernel with CONFIG_VHOST_NET, then `modprobe vhost_net` so /dev/vhost-net exists');
const afPacket = cap('AF_PACKET sockets', (c) => c.afPacket, 'a kernel with CONFIG_PACKET, and CAP_NET_RAW');
const testpmd = cap('dpdk-testpmd', (c) => c.tools.testpmd, '`vnetbench setup --with dpdk` (Debian package dpdk-dev)');

const accel: Requirement = {
  what: 'QEMU accelerator (KVM or TCG)',
  check: (c) =>
    c.kvm.ok
      ? { ok: true, evidence: 'KVM boots guests' }
      : c.tcg.ok
        ? { ok: true, evidence: 'guests run under TCG (KVM not usable)' }
        : { ok: false, evidence: `no accelerator boots a guest: ${c.tcg.evidence}` },
  fix: '`vnetbench setup` (installs qemu-system-x86)',
  choice: true,
};

function netdev(type: string): Requirement {
  return {
    what: `QEMU -netdev ${type}`,
    check: (c) =>
      !c.qemu.ok
        ? { ok: false, evidence: c.qemu.evidence }
        : c.qemu.netdevs?.includes(type)
          ? { ok: true, evidence: `QEMU ${c.qemu.version} lists ${type}` }
          : { ok: false, evidence: `QEMU ${c.qemu.version} -netdev help does not list ${type}` },
    fix: `a QEMU built with the ${type} netdev (Debian's qemu-system-x86 has it: \`vnetbench setup\`)`,
  };
}

const asyncIo: Requirement = {
  what: 'io_uring or Linux AIO',
  check: (c) =>
    c.ioUring.ok
      ? { ok: true, evidence: 'io_uring works' }
      : c.linuxAio.ok
        ? { ok: true, evidence: 'Linux AIO works (io_uring does not)' }
        : { ok: false, evidence: `io_uring: ${c.ioUring.evidence}; Linux AIO: ${c.linuxAio.evidence}` },
  fix: 'a kernel with CONFIG_IO_URING (and kernel.io_uring_disabled=0) or CONFIG_AIO',
  choice: true,
};

const REQUIREMENTS: Record<BackendName, Requirement[]> = {
  copy: [root, accel, netdev('tap'), netns, veth, bridge, tun],
  vhost: [root, accel, netdev('tap'), netns, veth, bridge, tun, vhostNet],
  macvtap: [root, accel, netdev('tap'), netns, veth, macvtap],
  'macvtap-vhost': [root, accel, netdev('tap'), netns, veth, macvtap, vhostNet],
  'vhost-raw': [root, accel, netdev('tap'), netns, veth, afPacket, vhostNet],
  'aio-tap': [root, accel, netdev('vhost-user'), netns, veth, bridge, tun, asyncIo],
  'aio-macvtap': [root, accel, netdev('vhost-user'), netns, veth, macvtap, asyncIo],
  'vhost-user': [root, accel, netdev('vhost-user'), netns, veth, afPacket, testpmd],
};

export type BackendAvailability = Availability & { name: BackendName; requires: string[] };

export function backendAvailability(c: HostCapabilities, name: BackendName): BackendAvailability {
  const reqs = REQUIREMENTS[name];
  const results = reqs.map((r) => ({ r, e: r.check(c) }));
  const unmet = results.filter((x) => !x.e.ok);
  const requires = reqs.map((r) => r.what);
  if (unmet.length === 0) {
    const how = results.filter((x) => x.r.choice).map((x) => x.e.evidence);
    return { name, runnable: true, requires, reason: [`all ${reqs.length} requirements met (${requires.join(', ')})`, ...how].join('; ') };
  }
  return {
    name,
    runnable: false,
    requires,
    reason: unmet.map((x) => `${x.r.what}: ${x.e.evidence}`).join('; '),
    fix: [...new Set(unmet.map((x) => x.r.fix))].join('; '),
  };
}

export function backendTable(c: HostCapabilities): BackendAvailability[] {
  return BACKENDS.map((b) => backendAvailability(c, b));
}
