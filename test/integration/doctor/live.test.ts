// A live doctor run on this host, asserting what this host's own facts justify, read independently
// of the probe (/dev/kvm and /dev/vhost-net present or not, /dev/kvm openable or not) and from the
// probe's own observations: never one machine's strings. Development machines differ (no /dev/kvm;
// /dev/kvm on a PVM guest host where guests crawl; users' working KVM) and each must pass. And
// nothing is left behind: no namespace, link, ledger, temp dir or QEMU process, also when the run
// is interrupted.
//
// Every test here probes afresh: the KVM/TCG cache points at a directory of this file's own
// (VNETBENCH_CACHE below), so no verdict cached earlier in this boot is asserted as a fact.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { PROJECT_ROOT, stateDir } from '../../../harness/core/paths.ts';
import { shortId } from '../../../harness/core/names.ts';
import { probeHost, bootId } from '../../../harness/doctor/probe.ts';
import { accelCacheFile, probeAccel } from '../../../harness/doctor/accel.ts';
import { describeAttempt, stderrGist } from '../../../harness/doctor/parsers/boot.ts';
import { KVM_API_VERSION, KVM_DEVICE } from '../../../harness/doctor/parsers/accel.ts';
import type { Evidence, HostCapabilities } from '../../../harness/doctor/capabilities.ts';
import { NOT_IMPLEMENTED, backendAvailability, backendTable } from '../../../harness/doctor/backends.ts';
import { backendNames, getBackend } from '../../../harness/backends/registry.ts';
import { findTool } from '../../../harness/setup/tools.ts';
import { cliArgv, runCli } from '../../helpers/cli.ts';

const ROOT = process.getuid?.() === 0;
const skipUnlessRoot = ROOT ? false : 'doctor creates namespaces and links: run as root';
const QEMU = findTool('qemu-system-x86_64');
const skipUnlessQemu = QEMU ? false : 'QEMU not installed';

const savedCache = process.env.VNETBENCH_CACHE;
const testCache = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-live-cache-'));
process.env.VNETBENCH_CACHE = testCache;
after(() => {
  if (savedCache === undefined) delete process.env.VNETBENCH_CACHE;
  else process.env.VNETBENCH_CACHE = savedCache;
  fs.rmSync(testCache, { recursive: true, force: true });
});

/** This host's KVM facts, read without the probe: does the node exist, may this user open it? */
function hostKvm(): { present: boolean; openable: boolean } {
  const present = fs.existsSync(KVM_DEVICE);
  let openable = false;
  try {
    fs.accessSync(KVM_DEVICE, fs.constants.R_OK | fs.constants.W_OK);
    openable = present;
  } catch {
    /* absent or denied */
  }
  return { present, openable };
}

/**
 * The KVM verdict as doctor reports it (evidence only) against the host's facts: absent -> not
 * usable, naming the missing device; not openable -> not usable, with open's errno; usable -> both
 * boots reached the marker; not usable although openable -> the evidence shows the boot that did
 * not reach the marker (its timeout or QEMU's exit) or the device's answer.
 */
function assertKvmFitsHost(kvm: Evidence): void {
  const h = hostKvm();
  if (!h.present) {
    assert.equal(kvm.ok, false, kvm.evidence);
    assert.match(kvm.evidence, /^KVM not usable: open \/dev\/kvm: ENOENT /, 'the evidence names the missing device');
  } else if (!h.openable) {
    assert.equal(kvm.ok, false, kvm.evidence);
    assert.match(kvm.evidence, /^KVM not usable: open \/dev\/kvm: E(ACCES|PERM) /);
  } else if (kvm.ok) {
    assert.match(kvm.evidence, /^KVM boots a guest: \/dev\/kvm opened, KVM_GET_API_VERSION = 12; qemu -accel kvm boot sector: marker on serial after \d+ ms;.* -cpu host: marker on serial after \d+ ms/);
  } else {
    assert.match(
      kvm.evidence,
      /^KVM not usable: (\/dev\/kvm opened, KVM_GET_API_VERSION = 12; .*(no marker on serial within \d+\.\d s|QEMU exited \(.*\) after \d+ ms)|open \/dev\/kvm: E[A-Z]+ |\/dev\/kvm opened but KVM_GET_API_VERSION)/,
      'KVM judged not usable although /dev/kvm opens: the evidence must show why',
    );
  }
}

/** What the backends say about the accelerator follows the KVM verdict. */
function assertAccelReasonFits(caps: HostCapabilities, name: 'copy' | 'macvtap' | 'vhost-user'): void {
  const a = backendAvailability(caps, name);
  assert.equal(a.runnable, true, `${name}: ${a.reason}`);
  assert.match(a.reason, caps.kvm.ok ? /KVM boots guests/ : /under TCG \(KVM not usable\)/, name);
}

function namespaces(): string[] {
  const r = spawnSync('ip', ['-j', 'netns', 'list'], { encoding: 'utf8' });
  return r.stdout.trim() ? (JSON.parse(r.stdout) as { name: string }[]).map((n) => n.name) : [];
}

function rootLinks(): string[] {
  const r = spawnSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' });
  return (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname);
}

function assertNothingLeft(id: string, stateRoot = stateDir()): void {
  assert.ok(!namespaces().some((n) => n.includes(id)), `a namespace with ${id} is left: ${namespaces().join(' ')}`);
  assert.ok(!rootLinks().some((l) => l.includes(id)), `a link with ${id} is left`);
  assert.ok(!fs.existsSync(path.join(stateRoot, 'ledgers', `doctor-${id}.jsonl`)), 'the ledger was not closed');
  assert.ok(!fs.existsSync(path.join(os.tmpdir(), `vnb-${id}-doctor`)), 'the macvtap node dir is left');
}

test('live doctor: every probe as this host\'s facts justify (tun, vhost-net, KVM, TCG); nothing left', { skip: skipUnlessRoot }, async (t) => {
  const id = shortId();
  const progress: string[] = [];
  const caps = await probeHost({ id, useCache: false, log: (l) => progress.push(l) });
  t.diagnostic(`kvm on this host: ${caps.kvm.situation}: ${caps.kvm.evidence}`);

  assert.equal(caps.root.ok, true, caps.root.evidence);
  assert.equal(caps.netns.ok, true, caps.netns.evidence);
  assert.match(caps.netns.evidence, new RegExp(`vnb-${id}-doctor`));
  assert.equal(caps.tun.ok, true, caps.tun.evidence);
  assert.match(caps.tun.evidence, /\/dev\/net\/tun char 10:200.*tap vnb\w+t created/);
  assert.equal(caps.macvlan.ok, true, caps.macvlan.evidence);
  assert.equal(caps.macvtap.ok, true, caps.macvtap.evidence);
  assert.match(caps.macvtap.evidence, /char device tap\d+ = \d+:\d+ opened read-write/);
  assert.equal(caps.veth.ok, true, caps.veth.evidence);
  assert.equal(caps.bridge.ok, true, caps.bridge.evidence);
  assert.equal(caps.ioUring.ok, true, caps.ioUring.evidence);
  assert.equal(caps.linuxAio.ok, true, caps.linuxAio.evidence);

  const vhostNet = fs.existsSync('/dev/vhost-net');
  if (vhostNet) {
    assert.equal(caps.vhostNet.ok, true, caps.vhostNet.evidence);
    assert.notEqual(caps.vhostNet.features, undefined);
  } else {
    assert.equal(caps.vhostNet.ok, false, caps.vhostNet.evidence);
    assert.match(caps.vhostNet.evidence, /\/dev\/vhost-net absent/);
    assert.equal(caps.vhostNet.features, undefined);
  }

  assertKvmFitsHost(caps.kvm);
  if (QEMU) {
    assert.equal(caps.tcg.ok, true, caps.tcg.evidence);
    assert.match(caps.tcg.evidence, /marker on serial after \d+ ms/);
  }

  assert.equal(caps.qemu.ok, true, caps.qemu.evidence);
  assert.match(caps.qemu.version!, /^\d+\.\d+(\.\d+)?$/);
  assert.ok(caps.qemu.netdevs!.includes('tap') && caps.qemu.netdevs!.includes('vhost-user'));
  for (const t of ['iperf3', 'sockperf', 'testpmd'] as const) assert.equal(caps.tools[t].ok, true, caps.tools[t].evidence);

  if (!vhostNet) {
    for (const name of ['vhost', 'macvtap-vhost', 'vhost-raw'] as const) {
      const a = backendAvailability(caps, name);
      assert.equal(a.runnable, false, name);
      assert.match(a.reason, /\/dev\/vhost-net missing \(\/dev\/vhost-net absent/);
      assert.match(a.fix!, /CONFIG_VHOST_NET/);
    }
    assert.match(backendAvailability(caps, 'vhost').reason, /^\/dev\/vhost-net missing/, 'the most specific cause comes first');
  }
  for (const name of ['copy', 'macvtap', 'vhost-user'] as const) assertAccelReasonFits(caps, name);
  // The AIO backends: runnable when this build has them, otherwise reported as such.
  for (const name of ['aio-tap', 'aio-macvtap'] as const) {
    const a = backendAvailability(caps, name);
    if (backendNames().includes(name)) assert.equal(a.runnable, true, `${name}: ${a.reason}`);
    else assert.deepEqual([a.runnable, a.reason], [false, NOT_IMPLEMENTED]);
  }

  assert.ok(progress.some((l) => /kvm\/tcg/.test(l)), 'progress was reported');
  assertNothingLeft(id);
});

test('NICs: each /sys/class/net entry with a device link is reported with its driver', { skip: skipUnlessRoot }, async () => {
  const physical = fs.readdirSync('/sys/class/net').filter((n) => fs.existsSync(`/sys/class/net/${n}/device`));
  const caps = await probeHost({});
  assert.deepEqual(caps.nics.map((n) => n.name), physical.sort());
  for (const n of caps.nics) {
    const driver = path.basename(fs.readlinkSync(`/sys/class/net/${n.name}/device/driver`));
    // virtio NICs: the device link is the virtio device, bound to virtio_net.
    assert.equal(n.driver, driver, `${n.name}: ${n.problems.join('; ')}`);
    assert.ok(n.offloads && Object.keys(n.offloads).length > 0);
  }
});

test('KVM/TCG probe on this host, without the cache: the verdict is the one its own facts and observations justify', { skip: skipUnlessQemu }, async (t) => {
  const r = await probeAccel({ qemu: QEMU!, bootId: bootId(), useCache: false });
  const { device, kvmBoot, kvmCpuHost, kvmDeadlineMs, tcg } = r.observed;
  t.diagnostic(`kvm: ${r.kvm.situation}: ${r.kvm.evidence}`);
  t.diagnostic(`tcg: ${r.tcg.evidence}`);
  assert.equal(r.cachedAt, undefined, 'a real boot');

  // TCG needs nothing but QEMU and its firmware.
  assert.equal(r.tcg.ok, true, r.tcg.evidence);
  assert.equal(tcg?.kind, 'marker');
  assert.equal(r.tcg.evidence, `qemu -accel tcg boot sector: marker on serial after ${tcg.ms} ms`);

  const host = hostKvm();
  assert.equal(device.path, KVM_DEVICE);
  if (!host.present) {
    assert.deepEqual([r.kvm.ok, r.kvm.situation], [false, 'no-device'], r.kvm.evidence);
    assert.equal(device.openError?.errno, 'ENOENT');
    assert.equal(r.kvm.evidence, `KVM not usable: open ${KVM_DEVICE}: ENOENT (${device.openError!.text})`, 'the evidence names the missing device');
    assert.equal(kvmBoot, undefined, 'nothing booted under KVM');
    assert.ok(r.kvm.fix);
    return;
  }
  if (device.openError) {
    assert.equal(r.kvm.ok, false, r.kvm.evidence);
    if (!host.openable) assert.match(device.openError.errno, /^E(ACCES|PERM)$/, 'this user may not open /dev/kvm');
    assert.ok(r.kvm.evidence.includes(`open ${KVM_DEVICE}: ${device.openError.errno} `), r.kvm.evidence);
    assert.equal(kvmBoot, undefined, 'nothing booted under KVM');
    assert.ok(r.kvm.fix);
    return;
  }
  assert.ok(host.openable, 'the probe opened /dev/kvm, so this user may');
  if (device.apiVersion !== KVM_API_VERSION) {
    assert.deepEqual([r.kvm.ok, r.kvm.situation], [false, 'device-error'], r.kvm.evidence);
    return;
  }
  assert.ok(kvmBoot && kvmCpuHost, 'with a working device, QEMU is booted under KVM (default CPU and -cpu host)');
  assert.ok(r.kvm.evidence.includes(`qemu -accel kvm boot sector: ${describeAttempt(kvmBoot)}`), r.kvm.evidence);
  assert.ok(r.kvm.evidence.includes(`-cpu host: ${describeAttempt(kvmCpuHost)}`), r.kvm.evidence);
  if (r.kvm.ok) {
    // Usable: a guest booted under KVM within the deadline, with both CPU models.
    assert.equal(r.kvm.situation, 'usable');
    for (const a of [kvmBoot, kvmCpuHost]) {
      assert.equal(a.kind, 'marker', describeAttempt(a));
      assert.ok(a.ms <= kvmDeadlineMs, `${a.ms} ms within ${kvmDeadlineMs} ms`);
    }
    assert.equal(r.kvm.fix, undefined);
  } else {
    // Not usable although /dev/kvm works: it must rest on a boot that did not reach the marker.
    assert.equal(r.kvm.situation, 'not-usable');
    const failed = [kvmBoot, kvmCpuHost].filter((a) => a.kind !== 'marker');
    assert.ok(failed.length > 0, `not usable, yet both boots printed: ${r.kvm.evidence}`);
    for (const a of failed) {
      if (a.kind === 'timeout') {
        assert.ok(a.ms >= kvmDeadlineMs, `a timeout after ${a.ms} ms, before the ${kvmDeadlineMs} ms deadline`);
        assert.ok(r.kvm.evidence.includes(`no marker on serial within ${(a.ms / 1000).toFixed(1)} s`), r.kvm.evidence);
      } else if (a.kind === 'exited') {
        assert.ok(r.kvm.evidence.includes(`QEMU exited (${a.signal ? `signal ${a.signal}` : `code ${a.code}`}) after ${a.ms} ms`), r.kvm.evidence);
        if (stderrGist(a.stderr)) assert.ok(r.kvm.evidence.includes(stderrGist(a.stderr)), 'QEMU\'s error is in the evidence');
      } else {
        assert.fail(`QEMU ran under TCG but could not be started under KVM: ${describeAttempt(a)}`);
      }
    }
    assert.ok(r.kvm.fix);
  }
});

test('KVM/TCG cache: reused within the boot, never against the device as it is now, nor across boots', { skip: skipUnlessQemu }, async () => {
  fs.rmSync(path.dirname(accelCacheFile()), { recursive: true, force: true });
  const first = await probeAccel({ qemu: QEMU!, bootId: bootId(), useCache: true });
  assert.equal(first.cachedAt, undefined, 'an empty cache means a real boot');
  const record = JSON.parse(fs.readFileSync(accelCacheFile(), 'utf8'));
  assert.equal(record.bootId, bootId());
  assert.deepEqual(record.device, first.observed.device);

  const second = await probeAccel({ qemu: QEMU!, bootId: bootId(), useCache: true });
  assert.ok(second.cachedAt, 'the same boot, QEMU and device: the cached boots');
  assert.deepEqual([second.kvm.ok, second.kvm.situation, second.tcg.ok], [first.kvm.ok, first.kvm.situation, first.tcg.ok]);
  assert.match(second.kvm.evidence, /\[cached /);

  // The device is observed on every call: with it gone (a path that does not exist), the cached
  // boots are not reused and the verdict is "no device", on every host.
  const absent = path.join(os.tmpdir(), `vnb-no-kvm-${process.pid}`);
  const gone = await probeAccel({ qemu: QEMU!, bootId: bootId(), useCache: true, kvmDevice: absent });
  assert.equal(gone.cachedAt, undefined);
  assert.deepEqual([gone.kvm.ok, gone.kvm.situation], [false, 'no-device']);
  assert.equal(gone.kvm.evidence, `KVM not usable: open ${absent}: ENOENT (No such file or directory)`);
  assert.equal(gone.observed.kvmBoot, undefined);
  assert.equal(gone.tcg.ok, true, gone.tcg.evidence);

  const otherBoot = await probeAccel({ qemu: QEMU!, bootId: 'another-boot', useCache: true, kvmDeadlineMs: 500 });
  assert.equal(otherBoot.cachedAt, undefined, 'another boot id is a cache miss');
});

test('vnetbench doctor --json --no-cache: one document, every backend with runnable and reason, as this host is', { skip: skipUnlessRoot }, () => {
  const r = runCli(['doctor', '--json', '--no-cache']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.match(r.stderr, /doctor: finished in \d+ ms/, 'progress goes to stderr');
  assert.doesNotMatch(r.stderr, /using the boots cached/, '--no-cache boots again');
  for (const [name, p] of Object.entries(doc.probes) as [string, { ok: unknown; evidence: unknown }][]) {
    assert.equal(typeof p.ok, 'boolean', name);
    assert.ok(typeof p.evidence === 'string' && p.evidence.length > 0, name);
  }
  const vhostNet = fs.existsSync('/dev/vhost-net');
  assert.equal(doc.probes['vhost-net'].ok, vhostNet, doc.probes['vhost-net'].evidence);
  assert.equal(doc.probes.tun.ok, true);
  assertKvmFitsHost(doc.probes.kvm);
  assert.ok(typeof doc.probes.kvm.situation === 'string' && typeof doc.probes.kvm.reason === 'string');
  assert.equal(typeof doc.probes.kvm.fix, doc.probes.kvm.ok ? 'undefined' : 'string', 'a fix exactly when KVM is not usable');
  if (QEMU) assert.equal(doc.probes.tcg.ok, true, doc.probes.tcg.evidence);
  const vhost = doc.backends.find((b: { name: string }) => b.name === 'vhost');
  if (!vhostNet) {
    assert.equal(vhost.runnable, false);
    assert.match(vhost.reason, /\/dev\/vhost-net/);
  }
  assert.equal(doc.backends.length, 8);
  const id = /vnb-([0-9a-f]{6})-doctor/.exec(doc.probes.netns.evidence)![1];
  assertNothingLeft(id);
});

test('SIGINT during doctor: the scratch namespace, links and QEMU processes are all removed', { skip: skipUnlessRoot || skipUnlessQemu }, async () => {
  // Own state and cache dirs: the ledger is found there, and the probe really boots. QEMU is
  // still running when the signal arrives on any host (a TCG boot or a working KVM prints within
  // a fraction of a second): a qemu-system-x86_64 first on PATH runs the real one with -S added to
  // every probe boot, so no vCPU starts and each boot lasts until its deadline.
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-state-'));
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-cache-'));
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-bin-'));
  fs.writeFileSync(
    path.join(bin, 'qemu-system-x86_64'),
    `#!/bin/sh\nfor a in "$@"; do [ "$a" = -accel ] && exec ${QEMU} "$@" -S; done\nexec ${QEMU} "$@"\n`,
    { mode: 0o755 },
  );
  let exited: Promise<number | null> = Promise.resolve(null);
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const argv = cliArgv(['doctor']);
    child = spawn(argv[0]!, argv.slice(1), {
      cwd: PROJECT_ROOT,
      env: { ...process.env, VNETBENCH_STATE_DIR: state, VNETBENCH_CACHE: cache, PATH: `${bin}:${process.env.PATH ?? ''}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const running = child;
    exited = new Promise<number | null>((resolve) => running.on('exit', (code) => resolve(code)));
    const ledgers = path.join(state, 'ledgers');
    // Wait until the ledger records a live QEMU process (the namespace is recorded before it).
    let ledgerFile = '';
    let entries: { op: string; obj?: { kind: string; name?: string; pid?: number } }[] = [];
    for (let i = 0; i < 600; i++) {
      const files = fs.existsSync(ledgers) ? fs.readdirSync(ledgers) : [];
      if (files.length) {
        ledgerFile = path.join(ledgers, files[0]);
        entries = fs.readFileSync(ledgerFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
        if (entries.some((e) => e.op === 'add' && e.obj?.kind === 'process')) break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const pids = entries.flatMap((e) => (e.op === 'add' && e.obj?.kind === 'process' ? [e.obj.pid!] : []));
    assert.ok(pids.length > 0, `no QEMU process was recorded: ${stderr}`);
    const id = /doctor-([0-9a-f]{6})\.jsonl$/.exec(ledgerFile)![1];
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /SIGINT received, tearing down/);
    for (const pid of pids) assert.ok(!fs.existsSync(`/proc/${pid}`) || /\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')), `QEMU ${pid} survived`);
    assertNothingLeft(id, state);
    assert.ok(!fs.existsSync(path.join(cache, 'doctor', 'accel.json')), 'an interrupted probe is not cached');
  } finally {
    // If an assertion failed before the signal, stop the run and let it tear down before its
    // ledger and cache directories go away.
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    await exited;
    fs.rmSync(state, { recursive: true, force: true });
    fs.rmSync(cache, { recursive: true, force: true });
    fs.rmSync(bin, { recursive: true, force: true });
  }
});

test('backend table is each backend\'s own availability, which the run command uses to skip', { skip: skipUnlessRoot }, async () => {
  const caps = await probeHost({});
  const t = backendTable(caps);
  assert.deepEqual(t.map((b) => b.name), ['copy', 'vhost', 'macvtap', 'macvtap-vhost', 'vhost-raw', 'aio-tap', 'aio-macvtap', 'vhost-user']);
  for (const b of t) {
    if (backendNames().includes(b.name)) assert.deepEqual(b, { name: b.name, ...getBackend(b.name).availability(caps) });
    else assert.equal(b.reason, NOT_IMPLEMENTED);
  }
});
