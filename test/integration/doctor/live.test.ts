// A live doctor run on this machine, asserting what platform.md records about it: tun works,
// /dev/vhost-net is absent (so the vhost backends are not runnable, and say so), /dev/kvm exists
// but KVM does not boot a guest at usable speed, TCG does. And nothing is left behind: no
// namespace, link, ledger, temp dir or QEMU process, also when the run is interrupted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { PROJECT_ROOT, stateDir } from '../../../harness/core/paths.ts';
import { shortId } from '../../../harness/core/names.ts';
import { probeHost, bootId } from '../../../harness/doctor/probe.ts';
import { probeAccel } from '../../../harness/doctor/accel.ts';
import { NOT_IMPLEMENTED, backendAvailability, backendTable } from '../../../harness/doctor/backends.ts';
import { backendNames, getBackend } from '../../../harness/backends/registry.ts';
import { findTool } from '../../../harness/setup/tools.ts';
import { cliArgv, runCli } from '../../helpers/cli.ts';

const ROOT = process.getuid?.() === 0;
const skipUnlessRoot = ROOT ? false : 'doctor creates namespaces and links: run as root';

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

test('live doctor: tun works, vhost-net absent, KVM not usable, TCG available; nothing left', { skip: skipUnlessRoot }, async () => {
  const id = shortId();
  const progress: string[] = [];
  const caps = await probeHost({ id, log: (l) => progress.push(l) });

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

  assert.equal(caps.vhostNet.ok, false, caps.vhostNet.evidence);
  assert.match(caps.vhostNet.evidence, /\/dev\/vhost-net absent/);
  assert.equal(caps.vhostNet.features, undefined);

  assert.equal(caps.kvm.ok, false, caps.kvm.evidence);
  assert.match(caps.kvm.evidence, /KVM not usable/);
  assert.equal(caps.tcg.ok, true, caps.tcg.evidence);
  assert.match(caps.tcg.evidence, /marker on serial after \d+ ms/);

  assert.equal(caps.qemu.ok, true, caps.qemu.evidence);
  assert.match(caps.qemu.version!, /^7\.2\./);
  assert.ok(caps.qemu.netdevs!.includes('tap') && caps.qemu.netdevs!.includes('vhost-user'));
  for (const t of ['iperf3', 'sockperf', 'testpmd'] as const) assert.equal(caps.tools[t].ok, true, caps.tools[t].evidence);

  for (const name of ['vhost', 'macvtap-vhost', 'vhost-raw'] as const) {
    const a = backendAvailability(caps, name);
    assert.equal(a.runnable, false, name);
    assert.match(a.reason, /\/dev\/vhost-net missing \(\/dev\/vhost-net absent/);
    assert.match(a.fix!, /CONFIG_VHOST_NET/);
  }
  assert.match(backendAvailability(caps, 'vhost').reason, /^\/dev\/vhost-net missing/, 'the most specific cause comes first');
  for (const name of ['copy', 'macvtap', 'vhost-user'] as const) {
    const a = backendAvailability(caps, name);
    assert.equal(a.runnable, true, `${name}: ${a.reason}`);
    assert.match(a.reason, /under TCG \(KVM not usable\)/);
  }
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

test('KVM/TCG probe: boots for real without the cache, then reuses the verdict within the boot', { skip: findTool('qemu-system-x86_64') ? false : 'QEMU not installed' }, async () => {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-cache-'));
  const saved = process.env.VNETBENCH_CACHE;
  process.env.VNETBENCH_CACHE = cache;
  try {
    const qemu = findTool('qemu-system-x86_64')!;
    const first = await probeAccel({ qemu, bootId: bootId(), useCache: true });
    assert.equal(first.cachedAt, undefined, 'an empty cache means a real boot');
    assert.equal(first.tcg.ok, true, first.tcg.evidence);
    assert.equal(first.kvm.ok, false, first.kvm.evidence);
    assert.match(first.kvm.evidence, /\/dev\/kvm opened, KVM_GET_API_VERSION = 12; qemu -accel kvm boot sector: /);
    assert.match(first.kvm.evidence, /-cpu host: .*MSR 0x10a/);
    const record = JSON.parse(fs.readFileSync(path.join(cache, 'doctor', 'accel.json'), 'utf8'));
    assert.equal(record.bootId, bootId());
    const second = await probeAccel({ qemu, bootId: bootId(), useCache: true });
    assert.ok(second.cachedAt);
    assert.equal(second.kvm.ok, false);
    assert.match(second.kvm.evidence, /\[cached /);
    const otherBoot = await probeAccel({ qemu, bootId: 'another-boot', useCache: true, kvmDeadlineMs: 500 });
    assert.equal(otherBoot.cachedAt, undefined, 'another boot id is a cache miss');
  } finally {
    if (saved === undefined) delete process.env.VNETBENCH_CACHE;
    else process.env.VNETBENCH_CACHE = saved;
    fs.rmSync(cache, { recursive: true, force: true });
  }
});

test('vnetbench doctor --json: one document, every backend with runnable and reason', { skip: skipUnlessRoot }, () => {
  const r = runCli(['doctor', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.match(r.stderr, /doctor: finished in \d+ ms/, 'progress goes to stderr');
  for (const [name, p] of Object.entries(doc.probes) as [string, { ok: unknown; evidence: unknown }][]) {
    assert.equal(typeof p.ok, 'boolean', name);
    assert.ok(typeof p.evidence === 'string' && p.evidence.length > 0, name);
  }
  assert.equal(doc.probes['vhost-net'].ok, false);
  assert.equal(doc.probes.tun.ok, true);
  assert.equal(doc.probes.kvm.ok, false);
  assert.equal(doc.probes.tcg.ok, true);
  const vhost = doc.backends.find((b: { name: string }) => b.name === 'vhost');
  assert.equal(vhost.runnable, false);
  assert.match(vhost.reason, /\/dev\/vhost-net/);
  assert.equal(doc.backends.length, 8);
  const id = /vnb-([0-9a-f]{6})-doctor/.exec(doc.probes.netns.evidence)![1];
  assertNothingLeft(id);
});

test('SIGINT during doctor: the scratch namespace, links and QEMU processes are all removed', { skip: skipUnlessRoot }, async () => {
  // Own state and cache dirs: the ledger is found there, and the KVM probe really boots (3 s),
  // so QEMU is running when the signal arrives.
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-state-'));
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-cache-'));
  let exited: Promise<number | null> = Promise.resolve(null);
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const argv = cliArgv(['doctor']);
    child = spawn(argv[0]!, argv.slice(1), {
      cwd: PROJECT_ROOT,
      env: { ...process.env, VNETBENCH_STATE_DIR: state, VNETBENCH_CACHE: cache },
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
