// The QEMU command line is built in one place; these tests pin what every guest gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accelArgs, buildQemuArgs, childFds, guestMac, kernelCmdline, wrapNetns, AGENT_PORT, DEFAULT_TUNING } from '../../../harness/guest/cmdline.ts';
import type { GuestSpec } from '../../../harness/guest/types.ts';

const spec: GuestSpec = {
  name: 'vnbabc123copy',
  image: { kernel: '/img/vmlinuz', initrd: '/img/initrd.img', hash: 'h', kernelRelease: '6.1.0' },
  accel: 'tcg',
  memMiB: 512,
  smp: 1,
  netArgs: ['-netdev', 'tap,id=n0,fd=3,vhost=off', '-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:AB:CD:EF'],
  passFds: [17],
  sharedMemory: false,
  ip: '198.18.0.2',
  prefixLen: 24,
  workDir: '/run/x',
  qemuBinary: 'qemu-system-x86_64',
};
const paths = { qmpSock: '/tmp/d/qmp.sock', agentSock: '/tmp/d/agent.sock', consoleLog: '/run/x/c.log' };

/** The value following `flag`, for each occurrence. */
function values(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []));
}

test('threads are attributable: -name NAME,debug-threads=on', () => {
  assert.deepEqual(values(buildQemuArgs(spec, paths), '-name'), ['vnbabc123copy,debug-threads=on']);
});

test('TCG by default; KVM with the host CPU when doctor said guests boot under KVM', () => {
  const tcg = buildQemuArgs(spec, paths);
  assert.deepEqual(values(tcg, '-accel'), ['tcg,thread=multi']);
  assert.deepEqual(values(tcg, '-cpu'), []);
  const kvm = buildQemuArgs({ ...spec, accel: 'kvm' }, paths);
  assert.deepEqual(values(kvm, '-accel'), ['kvm']);
  assert.deepEqual(values(kvm, '-cpu'), ['host']);
  assert.deepEqual(values(kvm, '-smp'), ['1'], 'KVM keeps real barriers: no extra possible CPU');
});

test('one TCG vCPU keeps its memory barriers: a second possible CPU sets CF_PARALLEL (QEMU < 8.0)', () => {
  assert.deepEqual(values(buildQemuArgs(spec, paths), '-smp'), ['1,maxcpus=2']);
  assert.deepEqual(values(buildQemuArgs({ ...spec, smp: 2 }, paths), '-smp'), ['2'], 'two vCPUs are parallel already');
  const off = { ...DEFAULT_TUNING, tcgBarriers: false };
  assert.deepEqual(values(buildQemuArgs(spec, paths, off), '-smp'), ['1'], 'the reproducer turns the workaround off');
  assert.deepEqual(accelArgs('tcg', 1, off), ['-accel', 'tcg,thread=multi', '-smp', '1']);
});

test('no default devices, no user config, no display; console to a file; no reboot', () => {
  const a = buildQemuArgs(spec, paths);
  for (const flag of ['-nodefaults', '-no-user-config', '-no-reboot']) assert.ok(a.includes(flag), flag);
  assert.deepEqual(values(a, '-display'), ['none']);
  assert.deepEqual(values(a, '-serial'), ['file:/run/x/c.log']);
  assert.ok(!a.includes('-nographic'));
  assert.deepEqual(values(a, '-m'), ['512M']);
  assert.deepEqual(values(a, '-kernel'), ['/img/vmlinuz']);
  assert.deepEqual(values(a, '-initrd'), ['/img/initrd.img']);
});

test('QMP and the agent are client chardevs to our sockets; the agent is a named virtio-serial port', () => {
  const a = buildQemuArgs(spec, paths);
  const chardevs = values(a, '-chardev');
  assert.deepEqual(chardevs, ['socket,id=vnbqmp,path=/tmp/d/qmp.sock', 'socket,id=vnbagent,path=/tmp/d/agent.sock']);
  assert.ok(chardevs.every((c) => !c.includes('server=on')), 'QEMU connects; we listen');
  assert.deepEqual(values(a, '-mon'), ['chardev=vnbqmp,mode=control']);
  const devices = values(a, '-device');
  assert.ok(devices.includes('virtio-serial-pci,id=vnbser,max_ports=2'));
  assert.ok(devices.includes(`virtserialport,bus=vnbser.0,chardev=vnbagent,name=${AGENT_PORT}`));
});

test("the backend's arguments come last and unchanged", () => {
  const a = buildQemuArgs(spec, paths);
  assert.deepEqual(a.slice(-spec.netArgs.length), spec.netArgs);
});

test('shared guest memory is a memfd backend the machine uses (vhost-user)', () => {
  const a = buildQemuArgs({ ...spec, sharedMemory: true, memMiB: 1024 }, paths);
  assert.deepEqual(values(a, '-object'), ['memory-backend-memfd,id=vnbmem,size=1024M,share=on']);
  assert.deepEqual(values(a, '-machine'), ['q35,memory-backend=vnbmem']);
  assert.deepEqual(values(buildQemuArgs(spec, paths), '-object'), []);
  assert.deepEqual(values(buildQemuArgs(spec, paths, { ...DEFAULT_TUNING, machine: 'pc' }), '-machine'), ['pc']);
});

test('passed fds become 3, 4, ... in the child', () => {
  assert.deepEqual(childFds([17, 4, 99]), [3, 4, 5]);
  assert.deepEqual(childFds([]), []);
});

test('kernel command line: serial console, quiet, panic exits, the NIC address and MAC for the guest rc', () => {
  const c = kernelCmdline(spec).split(' ');
  assert.ok(c.includes('console=ttyS0'));
  assert.ok(c.includes('quiet'));
  assert.ok(c.includes('panic=-1'));
  assert.ok(c.includes('vnb.ip=198.18.0.2/24'));
  assert.ok(c.includes('vnb.mac=52:54:00:ab:cd:ef'), 'lower-cased as sysfs shows it');
  const extra = kernelCmdline(spec, { ...DEFAULT_TUNING, extraAppend: ['foo=1'] }).split(' ');
  assert.equal(extra[extra.length - 1], 'foo=1', 'user parameters come last so they win');
});

test('the guest MAC is read from the device arguments, not from other options', () => {
  assert.equal(guestMac(['-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:00:00:02,mq=on']), '52:54:00:00:00:02');
  assert.equal(guestMac(['-device', 'virtio-net-pci,netdev=n0']), undefined);
  assert.equal(guestMac(['-netdev', 'tap,id=n0,ifname=vnbmac=1']), undefined);
});

test('in a namespace, ip netns exec runs the same argv (it execs, so the pid is QEMU\'s)', () => {
  assert.deepEqual(wrapNetns('vnb-abc123-guest', ['qemu', '-m', '1']), ['ip', 'netns', 'exec', 'vnb-abc123-guest', 'qemu', '-m', '1']);
  assert.deepEqual(wrapNetns(undefined, ['qemu']), ['qemu']);
});
