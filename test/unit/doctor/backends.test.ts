// Doctor's backend table is each backend file's own availability (one source of truth, pure over
// HostCapabilities): one missing capability makes exactly the backends that need it unrunnable,
// with the most specific cause first and that capability's evidence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS } from '../../../harness/config/schema.ts';
import { getBackend } from '../../../harness/backends/registry.ts';
import { asyncIo, decide } from '../../../harness/backends/requirements.ts';
import { NOT_IMPLEMENTED, backendAvailability, backendTable } from '../../../harness/doctor/backends.ts';
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

test('every backend is listed, in schema order, each row exactly what its backend file says', () => {
  const c = everything();
  const t = backendTable(c);
  assert.deepEqual(t.map((b) => b.name), [...BACKENDS]);
  for (const b of t) assert.deepEqual(b, { name: b.name, ...getBackend(b.name).availability(c) });
});

test('everything there: all run but vhost-raw, and each says how', () => {
  const t = backendTable(everything());
  assert.deepEqual(t.filter((b) => !b.runnable).map((b) => b.name), ['vhost-raw']);
  for (const b of t.filter((r) => r.runnable)) {
    assert.match(b.reason, /^all \d+ requirements met \(/, b.name);
    assert.match(b.reason, /KVM boots guests/, b.name);
    assert.equal(b.fix, undefined);
  }
  assert.deepEqual(backendAvailability(everything(), 'copy').requires, [
    'tap (/dev/net/tun)', 'bridge', 'root', 'network namespaces', 'veth', 'QEMU -netdev tap', 'QEMU accelerator (KVM or TCG)',
  ]);
});

test('no /dev/vhost-net: exactly the vhost-net backends stop, and say why first', () => {
  const c = { ...everything(), vhostNet: no('/dev/vhost-net absent (no /sys/module/vhost_net)') };
  assert.deepEqual(runnable(c), ['copy', 'macvtap', 'aio-tap', 'aio-macvtap', 'vhost-user']);
  for (const name of ['vhost', 'macvtap-vhost'] as const) {
    const a = backendAvailability(c, name);
    assert.equal(a.runnable, false);
    assert.equal(a.reason, '/dev/vhost-net missing (/dev/vhost-net absent (no /sys/module/vhost_net))');
    assert.match(a.fix!, /CONFIG_VHOST_NET/);
  }
  const raw = backendAvailability(c, 'vhost-raw');
  assert.match(raw.reason, /^QEMU cannot give vhost-net an AF_PACKET socket \(.*TUNGETIFF.*\); \/dev\/vhost-net missing \(/);
  assert.match(raw.fix!, /CONFIG_VHOST_NET/);
});

test('vhost-raw is never runnable: QEMU cannot hand vhost-net a packet socket', () => {
  const a = backendAvailability(everything(), 'vhost-raw');
  assert.equal(a.runnable, false);
  assert.match(a.reason, /^QEMU cannot give vhost-net an AF_PACKET socket/);
  assert.doesNotMatch(a.reason, /vhost-net missing/);
  assert.match(a.fix!, /^none in QEMU/);
});

test('KVM unusable but TCG works: everything that ran still runs, under TCG', () => {
  const c = { ...everything(), kvm: no('KVM not usable') };
  assert.deepEqual(runnable(c), runnable(everything()));
  assert.match(backendAvailability(c, 'copy').reason, /; guests run under TCG \(KVM not usable\)$/);
});

test('neither KVM nor TCG: nothing runs, the evidence of both is given, and the fix is to install QEMU', () => {
  const c = { ...everything(), kvm: no('no kvm'), tcg: no('qemu-system-x86_64 not found') };
  assert.deepEqual(runnable(c), []);
  const a = backendAvailability(c, 'copy');
  assert.equal(a.reason, 'no accelerator boots a guest (KVM: no kvm; TCG: qemu-system-x86_64 not found)');
  assert.match(a.fix!, /vnetbench setup/);
});

test('no testpmd: only vhost-user stops, with the setup option that installs it', () => {
  const c = { ...everything(), tools: { ...everything().tools, testpmd: no('dpdk-testpmd not found') } };
  assert.deepEqual(BACKENDS.filter((b) => !runnable(c).includes(b)), ['vhost-raw', 'vhost-user']);
  assert.equal(backendAvailability(c, 'vhost-user').reason, 'dpdk-testpmd missing (dpdk-testpmd not found)');
  assert.match(backendAvailability(c, 'vhost-user').fix!, /--with dpdk/);
});

test('io_uring off but Linux AIO on: the AIO backends still run; neither: they stop with both errors', () => {
  const c = { ...everything(), ioUring: no('io_uring_setup failed: EPERM') };
  assert.equal(backendAvailability(c, 'aio-tap').runnable, true);
  assert.equal(backendAvailability(c, 'aio-macvtap').runnable, true);
  assert.match(decide([asyncIo(c)]).reason, /; Linux AIO works \(io_uring does not\)$/);
  const neither = { ...c, linuxAio: no('io_setup failed: ENOSYS') };
  assert.deepEqual(runnable(neither), ['copy', 'vhost', 'macvtap', 'macvtap-vhost', 'vhost-user']);
  assert.match(backendAvailability(neither, 'aio-macvtap').reason, /EPERM.*ENOSYS/);
  assert.equal(decide([asyncIo(neither)]).reason, 'neither io_uring nor Linux AIO works (io_uring: io_uring_setup failed: EPERM; Linux AIO: io_setup failed: ENOSYS)');
});

test('a QEMU without vhost-user: the vhost-user family stops, tap backends run', () => {
  const c = everything();
  c.qemu = { ...c.qemu, netdevs: ['tap'] };
  assert.deepEqual(runnable(c), ['copy', 'vhost', 'macvtap', 'macvtap-vhost']);
  for (const name of ['aio-tap', 'aio-macvtap', 'vhost-user'] as const) {
    assert.match(backendAvailability(c, name).reason, /QEMU has no -netdev vhost-user \(QEMU 7\.2\.22 -netdev help lists: tap\)/, name);
  }
});

test('not root: every backend stops and each reason names every unmet requirement once', () => {
  const c = { ...everything(), root: no('running as uid 1000'), netns: no('not tried: needs root') };
  assert.deepEqual(runnable(c), []);
  const a = backendAvailability(c, 'macvtap');
  assert.equal(a.runnable, false);
  assert.equal(a.reason, 'not running as root (running as uid 1000); network namespaces unavailable (not tried: needs root)');
  for (const b of backendTable(c)) {
    assert.equal(b.reason.split('not running as root').length, 2, `${b.name}: root named once`);
    assert.equal(b.fix!.split('; ').length, new Set(b.fix!.split('; ')).size, `${b.name}: fixes are not repeated`);
  }
});

test('a backend this build does not implement is not runnable, and doctor does not crash', () => {
  const onlyCopy = (n: string) => (n === 'copy' ? getBackend('copy') : undefined);
  const t = backendTable(everything(), onlyCopy);
  assert.deepEqual(t.map((b) => b.name), [...BACKENDS]);
  assert.equal(t[0].runnable, true);
  for (const b of t.slice(1)) {
    assert.equal(b.runnable, false);
    assert.equal(b.reason, NOT_IMPLEMENTED);
    assert.match(b.fix!, new RegExp(`implements ${b.name}; this one has copy$`));
  }
});
