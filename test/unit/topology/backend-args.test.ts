// Exact QEMU arguments and host commands per backend (pure builders the backends call).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tapBackendArgs } from '../../../harness/backends/copy.ts';
import { macvtapBackendArgs } from '../../../harness/backends/macvtap.ts';
import { vhostUserBackendArgs, socketPath } from '../../../harness/backends/vhost-user.ts';
import { tapNetdev, vectorsFor } from '../../../harness/backends/qemu-args.ts';
import { testpmdSpec } from '../../../harness/backends/vhost-user.ts';
import { testpmdArgv, testpmdCommand } from '../../../harness/vhost/testpmd-process.ts';
import { tapBridgeSteps } from '../../../harness/backends/tap-bridge.ts';
import { macvtapIfindex, macvtapSteps, parseDevnum, rdevOf } from '../../../harness/backends/macvtap-device.ts';
import { parseEthtoolK, ownedByRun } from '../../../harness/backends/hostops.ts';
import { planTopology } from '../../../harness/topology/plan.ts';
import { withNamespaces } from '../../../harness/topology/apply.ts';
import { ethtoolKVeth, hostFacts } from './fixtures.ts';

const MAC = '02:a1:b2:c3:00:02';
const embedded = withNamespaces(planTopology({ kind: 'embedded' }, 'a1b2c3').layout);
const nicTopo = withNamespaces(planTopology({ kind: 'nic', nic: 'ifb0', peerNic: 'ifb1' }, 'a1b2c3', hostFacts()).layout);

test('copy: tap by name, vhost off; multiqueue adds queues=N, mq=on, vectors=2N+2', () => {
  assert.deepEqual(tapBackendArgs({ tap: 'vnba1b2c3t0', mac: MAC, queues: 1, vhost: false, vhostFds: [] }), [
    '-netdev', 'tap,id=n0,ifname=vnba1b2c3t0,script=no,downscript=no,vhost=off',
    '-device', `virtio-net-pci,netdev=n0,mac=${MAC}`,
  ]);
  assert.deepEqual(tapBackendArgs({ tap: 'vnba1b2c3t0', mac: MAC, queues: 4, vhost: false, vhostFds: [] }), [
    '-netdev', 'tap,id=n0,ifname=vnba1b2c3t0,script=no,downscript=no,queues=4,vhost=off',
    '-device', `virtio-net-pci,netdev=n0,mac=${MAC},mq=on,vectors=10`,
  ]);
});

test('vhost: vhost=on with our /dev/vhost-net fd; several queues let QEMU open its own', () => {
  assert.deepEqual(tapBackendArgs({ tap: 'vnba1b2c3t0', mac: MAC, queues: 1, vhost: true, vhostFds: [3] }), [
    '-netdev', 'tap,id=n0,ifname=vnba1b2c3t0,script=no,downscript=no,vhost=on,vhostfd=3',
    '-device', `virtio-net-pci,netdev=n0,mac=${MAC}`,
  ]);
  assert.deepEqual(tapBackendArgs({ tap: 't', mac: MAC, queues: 2, vhost: true, vhostFds: [] })[1], 'tap,id=n0,ifname=t,script=no,downscript=no,queues=2,vhost=on');
  // QEMU 7.2 rejects vhostfds= without fds=: the builder refuses to emit it.
  assert.throws(() => tapNetdev({ kind: 'ifname', ifname: 't', queues: 2 }, { on: true, fds: [3, 4] }), RangeError);
});

test('macvtap: the harness fds; macvtap-vhost adds vhostfd(s) after them', () => {
  assert.deepEqual(macvtapBackendArgs({ mac: MAC, queues: 1, vhost: false, childFds: [3] }), [
    '-netdev', 'tap,id=n0,fd=3,vhost=off',
    '-device', `virtio-net-pci,netdev=n0,mac=${MAC}`,
  ]);
  assert.deepEqual(macvtapBackendArgs({ mac: MAC, queues: 2, vhost: false, childFds: [3, 4] }), [
    '-netdev', 'tap,id=n0,fds=3:4,vhost=off',
    '-device', `virtio-net-pci,netdev=n0,mac=${MAC},mq=on,vectors=6`,
  ]);
  assert.deepEqual(macvtapBackendArgs({ mac: MAC, queues: 1, vhost: true, childFds: [3, 4] })[1], 'tap,id=n0,fd=3,vhost=on,vhostfd=4');
  assert.deepEqual(macvtapBackendArgs({ mac: MAC, queues: 2, vhost: true, childFds: [3, 4, 5, 6] })[1], 'tap,id=n0,fds=3:4,vhost=on,vhostfds=5:6');
});

test('vhost-user: chardev + netdev; vectors=0 unless KVM (the TCG MSI-X crash)', () => {
  assert.deepEqual(vhostUserBackendArgs({ mac: MAC, socket: '/w/vu.sock', queues: 1, accel: 'tcg' }), [
    '-chardev', 'socket,id=c0,path=/w/vu.sock',
    '-netdev', 'vhost-user,id=n0,chardev=c0',
    '-device', `virtio-net-pci,netdev=n0,mac=${MAC},vectors=0`,
  ]);
  assert.deepEqual(vhostUserBackendArgs({ mac: MAC, socket: '/w/vu.sock', queues: 2 }).slice(3), [
    'vhost-user,id=n0,chardev=c0,queues=2',
    '-device', `virtio-net-pci,netdev=n0,mac=${MAC},mq=on,vectors=0`,
  ]);
  assert.equal(vhostUserBackendArgs({ mac: MAC, socket: '/s', queues: 2, accel: 'kvm' }).at(-1), `virtio-net-pci,netdev=n0,mac=${MAC},mq=on,vectors=6`);
  assert.equal(vectorsFor(1, { vhostUser: true, accel: 'kvm' }), undefined);
  assert.throws(() => vhostUserBackendArgs({ mac: MAC, socket: '/a,b', queues: 1 }), /comma/);
  assert.equal(socketPath('/tmp/run', 'a1b2c3'), '/tmp/run/vnb-a1b2c3-vhost-user.sock');
  assert.match(socketPath('/x'.repeat(60), 'a1b2c3'), /^\/.*\/vnb-a1b2c3-vu\.sock$/);
});

test('testpmd: vhost port + af_packet on the wire, io forwarding, queues on both', () => {
  // The vhost-user backend's testpmd: in the guest namespace, held by its stdin (no --stats-period).
  const backend = testpmdSpec(embedded, '/w/vu.sock', 2, '/w');
  assert.deepEqual(testpmdCommand(backend), [
    'ip', 'netns', 'exec', 'vnb-a1b2c3-g',
    'dpdk-testpmd', '--no-huge', '-m', '1024', '--no-pci', '--no-telemetry', '--file-prefix', 'vnb-a1b2c3-testpmd', '-l', '0,1',
    '--vdev', 'net_vhost0,iface=/w/vu.sock,queues=2', '--vdev', 'net_af_packet0,iface=vnba1b2c3w,qpairs=2',
    '--', '--forward-mode=io', '--auto-start', '--rxq=2', '--txq=2', '--total-num-mbufs=32768',
  ]);
  assert.equal(backend.logFile, '/w/testpmd.log');
  // The conformance DUT's: stopped by signal, so --stats-period keeps it running without a terminal.
  assert.deepEqual(testpmdArgv({ socket: '/d/vhost.sock', wire: 'd0', queues: 1, filePrefix: 'p', logFile: '/d/l', memMiB: 256, control: 'signal', extraArgs: ['--total-num-mbufs=16384'] }).slice(-7), [
    '--forward-mode=io', '--auto-start', '--rxq=1', '--txq=1', '--stats-period', '10', '--total-num-mbufs=16384',
  ]);
});

test('copy host steps: bridge and tap in the guest namespace, each recorded; multi_queue for queues > 1', () => {
  const steps = tapBridgeSteps(embedded, 2);
  const argv = steps.map((s) => s.argv.join(' '));
  assert.deepEqual(argv, [
    'ip -n vnb-a1b2c3-g link add vnba1b2c3br address 02:a1:b2:c3:00:fb type bridge stp_state 0 forward_delay 0',
    'ip -n vnb-a1b2c3-g tuntap add dev vnba1b2c3t0 mode tap multi_queue',
    'ip -n vnb-a1b2c3-g link set dev vnba1b2c3t0 master vnba1b2c3br',
    'ip -n vnb-a1b2c3-g link set dev vnba1b2c3w master vnba1b2c3br',
    'ip -n vnb-a1b2c3-g link set dev vnba1b2c3t0 up',
    'ip -n vnb-a1b2c3-g link set dev vnba1b2c3br up',
  ]);
  assert.deepEqual(steps.flatMap((s) => s.record ?? []), [
    { kind: 'link', name: 'vnba1b2c3br', netns: 'vnb-a1b2c3-g' },
    { kind: 'link', name: 'vnba1b2c3t0', netns: 'vnb-a1b2c3-g' },
  ]);
  // Real-NIC mode: host namespace, our links kept quiet (no IPv6), the NIC bridged.
  const nic = tapBridgeSteps(nicTopo, 1).map((s) => s.argv.join(' '));
  assert.ok(nic.includes('sysctl -qw net.ipv6.conf.vnba1b2c3br.disable_ipv6=1'));
  assert.ok(nic.includes('ip link set dev ifb0 master vnba1b2c3br'));
  assert.ok(nic.includes('ip tuntap add dev vnba1b2c3t0 mode tap'));
});

test('macvtap host steps: ifindex from the run id, guest MAC on the macvtap except in passthru', () => {
  assert.equal(macvtapIfindex('a1b2c3'), 0x1000000 + 0xa1b2c3);
  const [add] = macvtapSteps(embedded, 'bridge');
  assert.equal(add!.argv.join(' '), `ip -n vnb-a1b2c3-g link add link vnba1b2c3w name vnba1b2c3mv index ${0x1000000 + 0xa1b2c3} address ${MAC} type macvtap mode bridge`);
  assert.deepEqual(add!.record, [{ kind: 'link', name: 'vnba1b2c3mv', netns: 'vnb-a1b2c3-g' }]);
  assert.match(macvtapSteps(embedded, 'vepa')[0]!.argv.join(' '), /mode vepa$/);
  const pt = macvtapSteps(nicTopo, 'passthru')[0]!.argv;
  assert.ok(!pt.includes('address'), 'passthru must not set the NIC MAC');
  assert.deepEqual(pt.slice(0, 5), ['ip', 'link', 'add', 'link', 'ifb0']);
});

test('device numbers: sysfs text and Node rdev agree', () => {
  assert.deepEqual(parseDevnum('246:1\n'), { major: 246, minor: 1 });
  assert.throws(() => parseDevnum('x'), /unexpected device number/);
  // 246:1 as stat(2) reports it for the /dev/tapN node measured on this machine.
  assert.equal(rdevOf({ major: 246, minor: 1 }), 246 * 256 + 1);
  assert.equal(rdevOf({ major: 10, minor: 200 }), 2760); // /dev/net/tun
});

test('ethtool -k parse (real veth output) and which links the run owns', () => {
  const k = parseEthtoolK(ethtoolKVeth());
  assert.equal(k['tx-checksumming'], 'on');
  assert.equal(k['tcp-segmentation-offload'], 'on');
  assert.equal(k['generic-receive-offload'], 'off');
  assert.equal(k['tx-checksum-ipv4'], 'off'); // "[fixed]" dropped
  assert.equal(ownedByRun(embedded, 'vnba1b2c3w'), true);
  assert.equal(ownedByRun(nicTopo, 'ifb0'), false);
  assert.equal(ownedByRun(nicTopo, 'vnba1b2c3br'), true);
});
