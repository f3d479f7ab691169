// The KVM/TCG cache (accel.json, keyed by boot_id) can never hand back stale facts: the KVM device is
// observed on every call and is part of the key, a record of another shape or boot is a miss, and
// useCache: false never reads. No QEMU is started: /bin/false stands in for the binary (each "boot"
// exits at once with code 1), and the device is pointed at paths whose open(2) result is known.
import { test, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { accelCacheFile, probeAccel } from '../../../harness/doctor/accel.ts';

const FAKE_QEMU = '/bin/false';
const ABSENT = path.join(os.tmpdir(), `vnb-no-such-kvm-${process.pid}`);
const saved = process.env.VNETBENCH_CACHE;
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-accel-cache-'));
process.env.VNETBENCH_CACHE = cache;

beforeEach(() => fs.rmSync(path.join(cache, 'doctor'), { recursive: true, force: true }));
after(() => {
  if (saved === undefined) delete process.env.VNETBENCH_CACHE;
  else process.env.VNETBENCH_CACHE = saved;
  fs.rmSync(cache, { recursive: true, force: true });
});

const record = () => JSON.parse(fs.readFileSync(accelCacheFile(), 'utf8'));

test('the device is observed on every call: ENOENT for a path that does not exist, whatever was cached', async () => {
  const first = await probeAccel({ qemu: FAKE_QEMU, bootId: 'boot-a', kvmDevice: ABSENT });
  assert.equal(first.cachedAt, undefined);
  assert.deepEqual(first.observed.device, { path: ABSENT, openError: { errno: 'ENOENT', text: 'No such file or directory' } });
  assert.deepEqual([first.kvm.ok, first.kvm.situation], [false, 'no-device']);
  assert.equal(first.observed.kvmBoot, undefined, 'nothing is booted under KVM without the device');
  assert.equal(first.observed.tcg?.kind, 'exited', '/bin/false ran as the TCG boot');
  assert.equal(first.tcg.ok, false);
  const r = record();
  assert.equal(r.bootId, 'boot-a');
  assert.deepEqual(r.device, first.observed.device);
  assert.ok(r.boots.tcg && !('verdicts' in r), 'observations are cached, not verdicts');

  const second = await probeAccel({ qemu: FAKE_QEMU, bootId: 'boot-a', kvmDevice: ABSENT });
  assert.ok(second.cachedAt, 'same boot, same QEMU, same device: a hit');
  assert.match(second.kvm.evidence, /\[cached .*, boot boot-a\]$/);
  assert.deepEqual(second.observed.tcg, first.observed.tcg);
});

test('a cached "KVM boots" for this boot is not believed once the device says otherwise', async () => {
  // A record as a usable-KVM host would have written it, for this very boot and binary.
  const first = await probeAccel({ qemu: FAKE_QEMU, bootId: 'boot-b', kvmDevice: ABSENT });
  const r = record();
  r.device = { path: ABSENT, apiVersion: 12 };
  r.boots.kvmBoot = { kind: 'marker', ms: 50, stderr: '' };
  r.boots.kvmCpuHost = { kind: 'marker', ms: 52, stderr: '' };
  fs.writeFileSync(accelCacheFile(), JSON.stringify(r));
  const now = await probeAccel({ qemu: FAKE_QEMU, bootId: 'boot-b', kvmDevice: ABSENT });
  assert.equal(now.cachedAt, undefined, 'the device differs from the cached one: a miss');
  assert.deepEqual([now.kvm.ok, now.kvm.situation], [false, 'no-device']);
  assert.deepEqual(now.observed.device, first.observed.device);
});

test('a device that is not KVM (/dev/null: the ioctl fails) is observed as such and keys its own record', async () => {
  await probeAccel({ qemu: FAKE_QEMU, bootId: 'boot-c', kvmDevice: ABSENT });
  const r = await probeAccel({ qemu: FAKE_QEMU, bootId: 'boot-c', kvmDevice: '/dev/null' });
  assert.equal(r.cachedAt, undefined);
  assert.equal(r.observed.device.ioctlError?.errno, 'ENOTTY');
  assert.deepEqual([r.kvm.ok, r.kvm.situation], [false, 'device-error']);
});

test('another boot id, another deadline, another record format: each a miss', async () => {
  await probeAccel({ qemu: FAKE_QEMU, bootId: 'boot-d', kvmDevice: ABSENT });
  assert.equal((await probeAccel({ qemu: FAKE_QEMU, bootId: 'boot-e', kvmDevice: ABSENT })).cachedAt, undefined);
  assert.equal((await probeAccel({ qemu: FAKE_QEMU, bootId: 'boot-e', kvmDevice: ABSENT, kvmDeadlineMs: 500 })).cachedAt, undefined);
  // The record of the previous format held verdicts; it must never be read as today's.
  const r = record();
  fs.writeFileSync(accelCacheFile(), JSON.stringify({ ...r, format: 1 }));
  assert.equal((await probeAccel({ qemu: FAKE_QEMU, bootId: 'boot-e', kvmDevice: ABSENT, kvmDeadlineMs: 500 })).cachedAt, undefined);
  fs.writeFileSync(accelCacheFile(), '{ not json');
  assert.equal((await probeAccel({ qemu: FAKE_QEMU, bootId: 'boot-e', kvmDevice: ABSENT, kvmDeadlineMs: 500 })).cachedAt, undefined);
});

test('useCache: false never reads the cache, and a QEMU that cannot start is never cached', async () => {
  await probeAccel({ qemu: FAKE_QEMU, bootId: 'boot-f', kvmDevice: ABSENT });
  const r = record();
  r.boots.tcg = { kind: 'marker', ms: 1, stderr: '' };
  fs.writeFileSync(accelCacheFile(), JSON.stringify(r));
  const fresh = await probeAccel({ qemu: FAKE_QEMU, bootId: 'boot-f', kvmDevice: ABSENT, useCache: false });
  assert.equal(fresh.cachedAt, undefined);
  assert.equal(fresh.observed.tcg?.kind, 'exited', 'the real run, not the planted marker');

  fs.rmSync(accelCacheFile());
  const missing = path.join(os.tmpdir(), `vnb-no-such-qemu-${process.pid}`);
  const m = await probeAccel({ qemu: missing, bootId: 'boot-f', kvmDevice: ABSENT });
  assert.equal(m.observed.tcg?.kind, 'spawn-failed');
  assert.equal(m.tcg.ok, false);
  assert.ok(!fs.existsSync(accelCacheFile()), 'nothing cached for a binary that is not there');
});
