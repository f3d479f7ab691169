// The KVM and TCG verdicts (harness/doctor/parsers/accel.ts) on what the probe observed, recorded on
// project machines (fixtures/doctor/captured/kvm-*.json: a PVM guest host, no /dev/kvm, /dev/kvm
// denied, QEMU missing) and, for usable KVM, which no project machine has, reconstructed from QEMU's
// documented behaviour (fixtures/doctor/reconstructed/kvm-usable.json, labelled as such). The live
// probe on this host is test/integration/doctor/live.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixturesDir } from '../../../harness/core/paths.ts';
import { describeAttempt, stderrGist, type BootAttempt } from '../../../harness/doctor/parsers/boot.ts';
import { deviceProblem, describeDevice, kvmVerdict, tcgVerdict, type AccelObservations } from '../../../harness/doctor/parsers/accel.ts';
import { doctorDocument, doctorText } from '../../../harness/doctor/report.ts';
import type { HostCapabilities } from '../../../harness/doctor/capabilities.ts';

const doctorFixture = (...p: string[]) => fs.readFileSync(path.join(fixturesDir(), 'doctor', ...p), 'utf8');
const captured = (name: string): AccelObservations => {
  const doc = JSON.parse(doctorFixture('captured', name));
  assert.ok(doc.captured?.how && doc.captured?.at, `${name} says how and when it was captured`);
  return doc.observed;
};
const reconstructed = (name: string): AccelObservations => {
  const doc = JSON.parse(doctorFixture('reconstructed', name));
  assert.match(doc.note, /^RECONSTRUCTED, NOT captured/, `${name} must say it is reconstructed`);
  return doc.observed;
};
const marker = (a: BootAttempt | undefined) => {
  assert.equal(a?.kind, 'marker');
  return a as Extract<BootAttempt, { kind: 'marker' }>;
};

test('no /dev/kvm (captured: ENOENT on open): not usable, nothing booted under KVM, the fix is to enable virtualisation; TCG still works', () => {
  const o = captured('kvm-no-device.json');
  assert.deepEqual(o.device, { path: '/dev/kvm', openError: { errno: 'ENOENT', text: 'No such file or directory' } });
  assert.equal(o.kvmBoot, undefined, 'no KVM boot without the device');
  const v = kvmVerdict(o);
  assert.equal(v.ok, false);
  assert.equal(v.situation, 'no-device');
  assert.equal(v.evidence, 'KVM not usable: open /dev/kvm: ENOENT (No such file or directory)');
  assert.match(v.reason, /^\/dev\/kvm does not exist: this kernel has no KVM, or the CPU's virtualisation extensions are not available to it$/);
  assert.match(v.fix!, /VT-x\/AMD-V .*nested virtualisation.*kvm_intel or kvm_amd/);
  assert.match(v.fix!, /TCG/);
  const t = tcgVerdict(o);
  assert.equal(t.ok, true);
  assert.equal(t.evidence, `qemu -accel tcg boot sector: marker on serial after ${marker(o.tcg).ms} ms`);
  assert.equal(t.fix, undefined);
});

test('/dev/kvm on a PVM guest host (captured): not usable, the evidence carries the timeout and the MSR 0x10a abort', () => {
  const o = captured('kvm-not-usable.json');
  assert.equal(o.device.apiVersion, 12);
  const boot = o.kvmBoot!;
  const cpuHost = o.kvmCpuHost!;
  assert.equal(boot.kind, 'timeout');
  assert.ok(boot.ms >= o.kvmDeadlineMs, 'the timeout came at the deadline, not before');
  assert.equal(cpuHost.kind, 'exited');
  const v = kvmVerdict(o);
  assert.equal(v.ok, false);
  assert.equal(v.situation, 'not-usable');
  assert.equal(
    v.evidence,
    `KVM not usable: /dev/kvm opened, KVM_GET_API_VERSION = 12; qemu -accel kvm boot sector: ${describeAttempt(boot)}; ` +
      `(TCG: ${marker(o.tcg).ms} ms); -cpu host: ${describeAttempt(cpuHost)}`,
  );
  assert.match(v.evidence, /no marker on serial within 3\.0 s \(stderr: warning: host doesn't support requested feature: CPUID\.01H:ECX\.pni \[bit 0\]\)/);
  assert.match(v.evidence, /-cpu host: QEMU exited \(signal SIGABRT\) after \d+ ms before the marker: error: failed to set MSR 0x10a to 0x69$/);
  assert.equal(
    v.reason,
    `/dev/kvm works but the probe guest does not print within 3.0 s under KVM (the guest crawls); TCG printed after ${marker(o.tcg).ms} ms`,
  );
  assert.match(v.fix!, /itself a VM .*nested virtualisation/);
  assert.match(v.fix!, /TCG: compare backends within one run/);
  assert.equal(tcgVerdict(o).ok, true);
});

test('usable KVM (RECONSTRUCTED, not captured): ok, the marker times of both CPU models as evidence, no fix', () => {
  const o = reconstructed('kvm-usable.json');
  const v = kvmVerdict(o);
  assert.equal(v.ok, true);
  assert.equal(v.situation, 'usable');
  assert.equal(v.fix, undefined);
  const boot = marker(o.kvmBoot);
  const cpuHost = marker(o.kvmCpuHost);
  assert.ok(boot.ms < o.kvmDeadlineMs && cpuHost.ms < o.kvmDeadlineMs);
  assert.equal(
    v.evidence,
    `KVM boots a guest: /dev/kvm opened, KVM_GET_API_VERSION = 12; qemu -accel kvm boot sector: marker on serial after ${boot.ms} ms; ` +
      `(TCG: ${marker(o.tcg).ms} ms); -cpu host: marker on serial after ${cpuHost.ms} ms`,
  );
  assert.equal(v.reason, `a guest boots under KVM (marker after ${boot.ms} ms, with -cpu host after ${cpuHost.ms} ms)`);
});

test('/dev/kvm permission denied (captured as nobody: EACCES): not usable, the fix is root or the kvm group', () => {
  const o = captured('kvm-device-denied.json');
  assert.equal(o.device.openError?.errno, 'EACCES');
  const v = kvmVerdict(o);
  assert.deepEqual([v.ok, v.situation], [false, 'device-denied']);
  assert.equal(v.evidence, 'KVM not usable: open /dev/kvm: EACCES (Permission denied)');
  assert.equal(v.reason, '/dev/kvm exists but this user may not open it (EACCES)');
  assert.match(v.fix!, /run as root, or add the user to the group owning \/dev\/kvm \(usually kvm: usermod -aG kvm USER/);
  assert.equal(tcgVerdict(o).ok, true, 'TCG needs no device');
});

test('the configured QEMU does not exist (captured: spawn ENOENT): KVM and TCG both not usable, the fix is to install QEMU', () => {
  const o = captured('kvm-qemu-missing.json');
  const v = kvmVerdict(o);
  assert.deepEqual([v.ok, v.situation], [false, 'qemu-missing']);
  assert.match(v.evidence, /^KVM not usable: \/dev\/kvm opened, KVM_GET_API_VERSION = 12; could not start QEMU: spawn \/nonexistent\/qemu-system-x86_64 ENOENT$/);
  assert.match(v.reason, /^\/dev\/kvm works but no QEMU could be started/);
  assert.match(v.fix!, /install qemu-system-x86 \(vnetbench setup\)/);
  const t = tcgVerdict(o);
  assert.equal(t.ok, false);
  assert.equal(t.evidence, 'qemu -accel tcg boot sector: could not start QEMU: spawn /nonexistent/qemu-system-x86_64 ENOENT');
  assert.match(t.fix!, /install qemu-system-x86/);
});

test('QEMU not installed at all (nothing found, nothing booted): both verdicts say so, the device is still reported', () => {
  const { device, kvmDeadlineMs } = captured('kvm-not-usable.json');
  const v = kvmVerdict({ device, kvmDeadlineMs });
  assert.deepEqual([v.ok, v.situation], [false, 'qemu-missing']);
  assert.equal(v.evidence, 'KVM not usable: /dev/kvm opened, KVM_GET_API_VERSION = 12; qemu-system-x86_64 not found');
  assert.match(v.fix!, /vnetbench setup/);
  const t = tcgVerdict({});
  assert.deepEqual([t.ok, t.reason], [false, 'qemu-system-x86_64 not found']);
  assert.match(t.evidence, /install: `vnetbench setup`/);
  // Without QEMU and without the device, the device is the more fundamental problem.
  assert.equal(kvmVerdict({ device: captured('kvm-no-device.json').device, kvmDeadlineMs }).situation, 'no-device');
});

test('device edge cases: a node without a driver, another errno, a wrong API version, a failing ioctl', () => {
  const p = '/dev/kvm';
  const enxio = deviceProblem({ path: p, openError: { errno: 'ENXIO', text: 'No such device or address' } })!;
  assert.equal(enxio.situation, 'no-device');
  assert.match(enxio.reason, /exists but no KVM driver answers it \(ENXIO\)/);
  assert.match(enxio.fix, /modprobe/);
  assert.equal(deviceProblem({ path: p, openError: { errno: 'EPERM', text: 'Operation not permitted' } })!.situation, 'device-denied');
  const busy = deviceProblem({ path: p, openError: { errno: 'EBUSY', text: 'Device or resource busy' } })!;
  assert.deepEqual([busy.situation, busy.reason], ['device-error', '/dev/kvm cannot be opened (EBUSY: Device or resource busy)']);
  const api = { path: p, apiVersion: 11 };
  assert.equal(describeDevice(api), '/dev/kvm opened but KVM_GET_API_VERSION returned 11, not 12');
  assert.equal(deviceProblem(api)!.situation, 'device-error');
  // Not a KVM node at all (what /dev/null answers): the ioctl fails.
  const notKvm = { path: '/dev/null', apiVersion: -1, ioctlError: { errno: 'ENOTTY', text: 'Inappropriate ioctl for device' } };
  assert.equal(describeDevice(notKvm), '/dev/null opened but KVM_GET_API_VERSION failed: ENOTTY (Inappropriate ioctl for device)');
  assert.match(deviceProblem(notKvm)!.reason, /^\/dev\/null is not a working KVM device \(KVM_GET_API_VERSION failed: ENOTTY/);
  assert.equal(deviceProblem({ path: p, apiVersion: 12 }), undefined);
  // With a device problem nothing about boots matters: the verdict rests on the device.
  const v = kvmVerdict({ device: api, qemu: '/usr/bin/qemu-system-x86_64', kvmDeadlineMs: 3000 });
  assert.deepEqual([v.ok, v.situation, v.evidence], [false, 'device-error', 'KVM not usable: /dev/kvm opened but KVM_GET_API_VERSION returned 11, not 12']);
});

test('the default CPU boots under KVM but -cpu host (what guests use) aborts: not usable, and the reason names -cpu host', () => {
  const pvm = captured('kvm-not-usable.json');
  const usable = reconstructed('kvm-usable.json');
  const v = kvmVerdict({ ...usable, kvmCpuHost: pvm.kvmCpuHost });
  assert.deepEqual([v.ok, v.situation], [false, 'not-usable']);
  assert.equal(v.reason, '/dev/kvm works but -cpu host, which vnetbench guests use under KVM, makes QEMU exit under KVM (error: failed to set MSR 0x10a to 0x69)');
  assert.match(v.evidence, /qemu -accel kvm boot sector: marker on serial after \d+ ms; .*-cpu host: QEMU exited \(signal SIGABRT\)/);
});

test('QEMU exits under KVM although the device opened (QEMU\'s captured no-device error): not usable, with QEMU\'s error', () => {
  const stderr = doctorFixture('captured', 'qemu-kvm-no-device-stderr.txt');
  const exited: BootAttempt = { kind: 'exited', ms: 31, code: 1, signal: null, stderr };
  const v = kvmVerdict({ ...reconstructed('kvm-usable.json'), kvmBoot: exited, kvmCpuHost: exited });
  assert.deepEqual([v.ok, v.situation], [false, 'not-usable']);
  assert.equal(v.reason, `/dev/kvm works but the probe guest makes QEMU exit under KVM (${stderrGist(stderr)})`);
  assert.match(v.evidence, /qemu -accel kvm boot sector: QEMU exited \(code 1\) after 31 ms before the marker: -accel kvm: failed to initialize kvm/);
});

test('observations without a -cpu host attempt (older records): the default CPU model decides', () => {
  const { kvmCpuHost: _, ...usable } = reconstructed('kvm-usable.json');
  assert.equal(kvmVerdict(usable).ok, true);
  const { kvmCpuHost: __, ...pvm } = captured('kvm-not-usable.json');
  assert.equal(kvmVerdict(pvm).ok, false);
  assert.doesNotMatch(kvmVerdict(pvm).evidence, /-cpu host/);
});

test('TCG that does not reach the marker: not ok, with the observation and a fix', () => {
  const t = tcgVerdict({ qemu: 'q', tcg: { kind: 'timeout', ms: 15_002, stderr: 'qemu-system-x86_64: could not load PC BIOS \'bios-256k.bin\'\n' } });
  assert.equal(t.ok, false);
  assert.equal(t.evidence, "qemu -accel tcg boot sector: no marker on serial within 15.0 s (stderr: could not load PC BIOS 'bios-256k.bin')");
  assert.match(t.fix!, /SeaBIOS/);
});

test('doctor report: kvm carries reason and fix in JSON, and the text prints the fix under a failed kvm line', () => {
  const o = captured('kvm-no-device.json');
  const e = (ok: boolean, evidence: string) => ({ ok, evidence });
  const caps: HostCapabilities = {
    root: e(true, 'uid 0'), tun: e(true, 't'), macvlan: e(true, 'm'), macvtap: e(true, 'mt'), netns: e(true, 'ns'),
    vhostNet: e(false, '/dev/vhost-net absent'), ioUring: e(true, 'u'), linuxAio: e(true, 'a'),
    kvm: kvmVerdict(o), tcg: tcgVerdict(o),
    qemu: { ...e(true, 'q'), version: '7.2.22', netdevs: ['tap', 'vhost-user'] },
    tools: { netperf: e(true, 'n'), netserver: e(true, 's'), iperf3: e(true, 'i'), sockperf: e(true, 'k'), testpmd: e(true, 't') },
    veth: e(true, 'v'), bridge: e(true, 'b'), afPacket: e(true, 'p'), nics: [], host: { bootId: 'b', kernel: 'k' },
  };
  const doc = JSON.parse(JSON.stringify(doctorDocument(caps)));
  assert.deepEqual(
    [doc.probes.kvm.ok, doc.probes.kvm.situation, doc.probes.kvm.reason, doc.probes.kvm.fix],
    [false, 'no-device', caps.kvm.reason, caps.kvm.fix],
  );
  const text = doctorText(caps, 120);
  assert.match(text, /^ NO  kvm\s+KVM not usable: open \/dev\/kvm: ENOENT \(No such file or directory\)\n\s+fix: enable VT-x\/AMD-V/m);
  assert.doesNotMatch(text, /^ ok  tcg.*\n\s+fix:/m, 'no fix under a probe that is ok');
});
