// Availability is a pure function of HostCapabilities: fed the real capabilities doctor found on
// this machine (fixture), and variations of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendNames, getBackend } from '../../../harness/backends/registry.ts';
import type { BackendName } from '../../../harness/config/schema.ts';
import { UsageError } from '../../../harness/core/errors.ts';
import type { HostCapabilities } from '../../../harness/doctor/capabilities.ts';
import { hostCapabilities } from './fixtures.ts';

const HERE = hostCapabilities();

test('this machine: copy, macvtap and vhost-user run; vhost backends do not, for /dev/vhost-net', () => {
  const a = new Map((['copy', 'macvtap', 'vhost-user', 'vhost', 'macvtap-vhost', 'vhost-raw'] as const).map((n) => [n, getBackend(n).availability(HERE)]));
  for (const n of ['copy', 'macvtap', 'vhost-user'] as const) assert.equal(a.get(n)!.runnable, true, `${n}: ${a.get(n)!.reason}`);
  for (const n of ['vhost', 'macvtap-vhost', 'vhost-raw'] as const) {
    const v = a.get(n)!;
    assert.equal(v.runnable, false);
    assert.match(v.reason, /\/dev\/vhost-net missing/);
    assert.match(v.fix ?? '', /vhost_net|CONFIG_VHOST_NET/);
  }
  // The first reason of the vhost backends is the one that matters.
  assert.match(a.get('vhost')!.reason, /^\/dev\/vhost-net missing \(\/dev\/vhost-net absent/);
});

test('vhost-raw is never runnable: QEMU cannot hand vhost-net a packet socket', () => {
  const withVhost: HostCapabilities = { ...HERE, vhostNet: { ok: true, evidence: '/dev/vhost-net opened' } };
  const v = getBackend('vhost-raw').availability(withVhost);
  assert.equal(v.runnable, false);
  assert.match(v.reason, /TUNGETIFF/);
  assert.doesNotMatch(v.reason, /vhost-net missing/);
  assert.equal(getBackend('vhost').availability(withVhost).runnable, true);
});

test('each missing requirement is named with its evidence and fix', () => {
  const noTestpmd: HostCapabilities = { ...HERE, tools: { ...HERE.tools, testpmd: { ok: false, evidence: 'dpdk-testpmd not on PATH' } } };
  const v = getBackend('vhost-user').availability(noTestpmd);
  assert.equal(v.runnable, false);
  assert.equal(v.reason, 'dpdk-testpmd missing (dpdk-testpmd not on PATH)');
  assert.match(v.fix!, /dpdk-dev/);
  const noTapNetdev: HostCapabilities = { ...HERE, qemu: { ...HERE.qemu, netdevs: ['user', 'socket'] } };
  assert.match(getBackend('copy').availability(noTapNetdev).reason, /QEMU has no -netdev tap/);
  const unusable: HostCapabilities = { ...HERE, vhostNet: { ok: false, evidence: 'open /dev/vhost-net: EACCES' } };
  assert.match(getBackend('vhost').availability(unusable).reason, /^\/dev\/vhost-net unusable/);
});

test('this machine under TCG: a runnable reason lists what it has and says how guests run', () => {
  const copy = getBackend('copy').availability(HERE);
  assert.equal(copy.runnable, true, copy.reason);
  assert.match(copy.reason, /^all 7 requirements met \(tap \(\/dev\/net\/tun\), bridge, root, .*\); guests run under TCG \(KVM not usable\)$/);
  assert.deepEqual(getBackend('vhost').availability(HERE).requires?.slice(0, 2), ['vhost-net (/dev/vhost-net)', 'tap (/dev/net/tun)']);
});

test('registry: the built-in backends; unknown ones are usage errors', () => {
  const names = backendNames();
  for (const n of ['copy', 'macvtap', 'macvtap-vhost', 'vhost', 'vhost-raw', 'vhost-user'] as const) assert.ok(names.includes(n), n);
  assert.throws(() => getBackend('no-such' as BackendName), (e: unknown) => e instanceof UsageError && /no-such/.test(e.message));
});
