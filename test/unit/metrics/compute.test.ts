import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountingProblems, computeMetrics, guestMetrics, hostCpuMetrics, qemuBreakdown, serviceDemand, taskDeltas } from '../../../harness/metrics/compute.ts';
import type { HostSnapshot } from '../../../harness/metrics/snapshot.ts';
import { capture, snapshots } from './fixtures.ts';

for (const prefix of ['', 'intx-']) {
  test(`real guest window (${prefix || 'msix-'}capture): CPU accounting is consistent`, () => {
    const { open, close } = snapshots(prefix);
    const cap = capture(prefix);
    const m = computeMetrics(open, close, 'TCP_STREAM', cap.engineMetrics, { nic: cap.guest.nic });
    const q = qemuBreakdown(open.host, close.host)!;
    assert.ok(q.threads >= 2);
    assert.ok(m.qemu_process_pct! > 0, 'QEMU ran');
    assert.ok(m.cpu_vcpu_pct! > 0, 'the TCG vCPU thread was found and ran');
    assert.ok(m.host_cpu_total_pct! > 0);
    assert.ok(m.guest_cpu_pct! > 0);
    assert.ok(m.packets_per_s! > 0);
    // Classes sum to at most the process total, which is at most the whole host.
    assert.ok(m.cpu_vcpu_pct! + m.cpu_qemu_io_pct! + q.vhostThreadPct <= m.qemu_process_pct! + 1e-9);
    assert.ok(m.qemu_process_pct! <= m.host_cpu_total_pct! + 1e-9);
    assert.ok(m.host_softirq_pct! <= m.host_cpu_total_pct!);
    assert.deepEqual(accountingProblems(m, q, { seconds: cap.windowS, hz: close.host.hz }), []);
    for (const [k, v] of Object.entries(m)) assert.ok(Number.isFinite(v) && v >= 0, `${k}=${v}`);
  });
}

test('service demand follows netperf: CPU seconds x 1e6 per KB (1024 B) or per transaction', () => {
  // 50 % of one CPU while moving 1 Gbit/s: 0.5 s of CPU per 125e6 B = 122070.3 KB -> 4.096 us/KB.
  const s = serviceDemand(50, 'TCP_STREAM', { throughput_bps: 1e9 });
  assert.ok(Math.abs(s.perKb! - (0.5 * 1e6) / (1e9 / 8 / 1024)) < 1e-12);
  assert.ok(Math.abs(s.perKb! - 4.096) < 1e-12);
  assert.equal(s.perTrans, undefined);
  // 100 % of one CPU at 20000 trans/s: 50 us per transaction.
  assert.deepEqual(serviceDemand(100, 'TCP_RR', { transactions_per_s: 20000 }), { perTrans: 50 });
  assert.deepEqual(serviceDemand(100, 'TCP_STREAM', { throughput_bps: 0 }), {}, 'no work, no demand');
});

test('real window: service demand and throughput per core from the computed CPU', () => {
  const { open, close } = snapshots();
  const cap = capture();
  const m = computeMetrics(open, close, 'TCP_STREAM', cap.engineMetrics, { nic: cap.guest.nic });
  const kbps = cap.engineMetrics.throughput_bps / 8 / 1024;
  assert.ok(Math.abs(m.service_demand_host_us_per_kb! - ((m.host_cpu_total_pct! / 100) * 1e6) / kbps) < 1e-9);
  assert.ok(Math.abs(m.service_demand_guest_us_per_kb! - ((m.guest_cpu_pct! / 100) * 1e6) / kbps) < 1e-9);
  assert.ok(Math.abs(m.throughput_per_core_bps! - cap.engineMetrics.throughput_bps / (m.host_cpu_total_pct! / 100)) < 1e-3);
  assert.equal(m.service_demand_host_us_per_trans, undefined);
});

test('guest interrupts per packet: counted only where the NIC vectors are identifiable', () => {
  const msix = snapshots();
  const g = guestMetrics(msix.open.guest!, msix.close.guest!, { nic: 'eth0' }, 4);
  assert.ok(g.guest_interrupts_per_packet! > 0);
  const intx = snapshots('intx-');
  assert.equal(guestMetrics(intx.open.guest!, intx.close.guest!, { nic: 'eth0' }, 4).guest_interrupts_per_packet, undefined);
  assert.ok(guestMetrics(intx.open.guest!, intx.close.guest!, { nic: 'eth0', virtioDev: 'virtio1' }, 4).guest_interrupts_per_packet! > 0);
  assert.throws(() => guestMetrics(msix.open.guest!, msix.close.guest!, { nic: 'eth9' }, 4), /no interface "eth9"/);
});

// Constructed snapshots (not captured): the arithmetic of edge cases a real window rarely shows.
const host = (over: Partial<HostSnapshot>): HostSnapshot => ({
  atMs: 0,
  hz: 100,
  stat: { cpus: 2, total: 0, busy: 0, softirq: 0, irq: 0, idle: 0, iowait: 0 },
  vhostKthreads: [],
  harnessUs: 0,
  ...over,
});

test('threads born in the window count whole; threads gone are not negative', () => {
  const d = taskDeltas(
    [{ key: '1:5', pid: 1, comm: 'a', ticks: 10 }, { key: '2:6', pid: 2, comm: 'gone', ticks: 50 }],
    [{ key: '1:5', pid: 1, comm: 'a', ticks: 30 }, { key: '3:9', pid: 3, comm: 'new', ticks: 7 }],
  );
  assert.deepEqual([...d.entries()], [['1:5', { comm: 'a', ticks: 20 }], ['3:9', { comm: 'new', ticks: 7 }]]);
});

test('vhost: worker threads inside QEMU and pre-6.4 kthreads both count as vhost', () => {
  const a = host({
    atMs: 0,
    qemu: { pid: 10, processTicks: 100, threads: [{ key: '10:1', pid: 10, comm: 'qemu-system-x86', ticks: 40 }, { key: '11:1', pid: 11, comm: 'CPU 0/KVM', ticks: 50 }, { key: '12:1', pid: 12, comm: 'vhost-10', ticks: 10 }] },
    vhostKthreads: [{ key: '99:1', pid: 99, comm: 'vhost-10', ticks: 5 }],
  });
  const b = host({
    atMs: 1000,
    qemu: { pid: 10, processTicks: 200, threads: [{ key: '10:1', pid: 10, comm: 'qemu-system-x86', ticks: 50 }, { key: '11:1', pid: 11, comm: 'CPU 0/KVM', ticks: 110 }, { key: '12:1', pid: 12, comm: 'vhost-10', ticks: 40 }] },
    vhostKthreads: [{ key: '99:1', pid: 99, comm: 'vhost-10', ticks: 25 }],
  });
  const m = hostCpuMetrics(a, b);
  assert.equal(m.qemu_process_pct, 100);
  assert.equal(m.cpu_vcpu_pct, 60);
  assert.equal(m.cpu_qemu_io_pct, 10);
  assert.equal(m.cpu_vhost_pct, 30 + 20);
  const q = qemuBreakdown(a, b)!;
  assert.equal(q.vhostThreadPct, 30);
  assert.equal(q.vhostKthreadPct, 20);
  assert.deepEqual(accountingProblems(m, q), []);
});

test('accounting problems: classes above the total beyond tick rounding, negatives, NaN', () => {
  const q = { processPct: 50, vcpuPct: 45, ioPct: 10, vhostThreadPct: 0, vhostKthreadPct: 0, threads: 4 };
  // 4 threads x 2 ticks over 10 s at 100 Hz = 0.8 %: 55 > 50.8.
  assert.match(accountingProblems({}, q, { seconds: 10, hz: 100 })[0], /exceed the process total/);
  assert.deepEqual(accountingProblems({}, { ...q, ioPct: 5.5 }, { seconds: 10, hz: 100 }), []);
  assert.deepEqual(accountingProblems({ cpu_peer_pct: -1, loss_pct: NaN }), ['cpu_peer_pct is negative (-1)', 'loss_pct is not finite (NaN)']);
});

test('backend and peer trees, harness CPU', () => {
  const m = hostCpuMetrics(host({ atMs: 0, backendTicks: 10, peerTicks: 5, harnessUs: 0 }), host({ atMs: 2000, backendTicks: 210, peerTicks: 45, harnessUs: 20_000 }));
  assert.equal(m.cpu_backend_pct, 100);
  assert.equal(m.cpu_peer_pct, 20);
  assert.equal(m.harness_cpu_pct, 1);
  assert.equal(m.qemu_process_pct, undefined);
});
