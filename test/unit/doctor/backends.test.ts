// Backend availability is a pure function of HostCapabilities: one missing capability makes
// exactly the backends that need it unrunnable, with that capability's evidence as the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS } from '../../../harness/config/schema.ts';
import { backendAvailability, backendTable } from '../../../harness/doctor/backends.ts';
import type { HostCapabilities } from '../../../harness/doctor/capabilities.ts';

const yes = (what: string) => ({ ok: true, evidence: `${what} works` });
const no = (evidence: string) => ({ ok: false, evidence });

function everything(): HostCapabilities {
  return {
    root: yes('root'),
    tun: yes('tun'),
    macvlan: yes('macvlan'),
    macvtap: yes('macvtap'),
    netns: yes('netns'),
    vhostNet: { ...yes('vhost-net'), features: 1n << 32n },
    ioUring: yes('io_uring'),
    linuxAio: yes('aio'),
    kvm: yes('kvm'),
    tcg: yes('tcg'),
    qemu: { ...yes('qemu'), version: '7.2.22', netdevs: ['tap', 'vhost-user', 'socket'] },
    tools: { netperf: yes('n'), netserver: yes('s'), iperf3: yes('i'), sockperf: yes('k'), testpmd: yes('t') },
    veth: yes('veth'),
    bridge: yes('bridge'),
    afPacket: yes('af_packet'),
    nics: [],
    host: { bootId: 'b', kernel: 'k' },
  };
}

const runnable = (c: HostCapabilities) => backendTable(c).filter((b) => b.runnable).map((b) => b.name);

test('every backend is listed, in schema order, and all run when everything is there', () => {
  const t = backendTable(everything());
  assert.deepEqual(t.map((b) => b.name), [...BACKENDS]);
  assert.ok(t.every((b) => b.runnable && b.reason.startsWith('all ') && b.fix === undefined));
  assert.match(t[0].reason, /KVM boots guests/);
});

test('no /dev/vhost-net: exactly the vhost-net backends stop, and say why', () => {
  const c = { ...everything(), vhostNet: no('/dev/vhost-net absent (no /sys/module/vhost_net)') };
  assert.deepEqual(runnable(c), ['copy', 'macvtap', 'aio-tap', 'aio-macvtap', 'vhost-user']);
  for (const name of ['vhost', 'macvtap-vhost', 'vhost-raw'] as const) {
    const a = backendAvailability(c, name);
    assert.equal(a.runnable, false);
    assert.match(a.reason, /^vhost-net \(\/dev\/vhost-net\): \/dev\/vhost-net absent/);
    assert.match(a.fix!, /CONFIG_VHOST_NET/);
  }
});

test('KVM unusable but TCG works: everything still runs, under TCG', () => {
  const c = { ...everything(), kvm: no('KVM not usable') };
  assert.equal(runnable(c).length, BACKENDS.length);
  assert.match(backendAvailability(c, 'copy').reason, /under TCG \(KVM not usable\)/);
});

test('neither KVM nor TCG: nothing runs, and the fix is to install QEMU', () => {
  const c = { ...everything(), kvm: no('no kvm'), tcg: no('qemu-system-x86_64 not found') };
  assert.deepEqual(runnable(c), []);
  assert.match(backendAvailability(c, 'copy').fix!, /vnetbench setup/);
});

test('no testpmd: only vhost-user stops, with the setup option that installs it', () => {
  const c = { ...everything(), tools: { ...everything().tools, testpmd: no('dpdk-testpmd not found') } };
  assert.deepEqual(BACKENDS.filter((b) => !runnable(c).includes(b)), ['vhost-user']);
  assert.match(backendAvailability(c, 'vhost-user').fix!, /--with dpdk/);
});

test('io_uring off but Linux AIO on: the AIO backends still run', () => {
  const c = { ...everything(), ioUring: no('io_uring_setup failed: EPERM') };
  assert.equal(backendAvailability(c, 'aio-tap').runnable, true);
  assert.match(backendAvailability(c, 'aio-tap').reason, /Linux AIO works/);
  const neither = { ...c, linuxAio: no('io_setup failed: ENOSYS') };
  assert.equal(backendAvailability(neither, 'aio-macvtap').runnable, false);
  assert.match(backendAvailability(neither, 'aio-macvtap').reason, /EPERM.*ENOSYS/);
});

test('a QEMU without vhost-user: the vhost-user family stops, tap backends run', () => {
  const c = everything();
  c.qemu = { ...c.qemu, netdevs: ['tap'] };
  assert.deepEqual(runnable(c), ['copy', 'vhost', 'macvtap', 'macvtap-vhost', 'vhost-raw']);
  assert.match(backendAvailability(c, 'aio-tap').reason, /does not list vhost-user/);
});

test('not root: every backend stops and each reason names every unmet requirement once', () => {
  const c = { ...everything(), root: no('running as uid 1000'), netns: no('not tried: needs root') };
  const a = backendAvailability(c, 'macvtap');
  assert.equal(a.runnable, false);
  assert.match(a.reason, /^root: running as uid 1000; network namespaces: not tried/);
  assert.equal(a.fix!.split('; ').length, new Set(a.fix!.split('; ')).size, 'fixes are not repeated');
  assert.deepEqual(runnable(c), []);
});
