// QEMU inside a scratch network namespace on a tap there (`ip netns exec` execs QEMU, so the pid we
// record is QEMU's own), talking to that namespace only. Traffic stays inside the namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exec } from '../../../harness/core/exec.ts';
import { Ledger, processAlive } from '../../../harness/core/ledger.ts';
import { ifName, nsName, shortId } from '../../../harness/core/names.ts';
import { launchGuest } from '../../../harness/guest/qemu.ts';
import { baseSpec, isolateState, leftoverSockDirs, missing, testImage } from './helpers.ts';

test('a guest in a namespace on a tap with shared memory: pid is QEMU, namespace is right, ping works, nothing left', { timeout: 600_000 }, async (t) => {
  const why = (await missing()) ?? (fs.existsSync('/dev/net/tun') ? undefined : '/dev/net/tun missing');
  if (why) return t.skip(why);
  const stateDir = isolateState();
  const img = await testImage();
  const id = shortId();
  const ns = nsName(id, 'gtest');
  const tap = ifName(id, 'tap');
  const name = `vnb${id}ns`;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `vnb-${id}-work-`));
  const ledger = Ledger.create(`guest-test-${id}`);
  t.after(async () => {
    await ledger.teardown();
    fs.rmSync(workDir, { recursive: true, force: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  ledger.add({ kind: 'netns', name: ns });
  await exec(['ip', 'netns', 'add', ns]);
  ledger.add({ kind: 'link', name: tap, netns: ns });
  await exec(['ip', '-n', ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap', 'vnet_hdr']);
  await exec(['ip', '-n', ns, 'addr', 'add', '198.18.0.1/24', 'dev', tap]);
  await exec(['ip', '-n', ns, 'link', 'set', tap, 'up']);

  const g = await launchGuest(
    {
      ...baseSpec(img, name, workDir),
      netns: ns,
      sharedMemory: true, // as vhost-user backends need: guest RAM in a shareable memfd
      netArgs: ['-netdev', `tap,id=vnbnet0,ifname=${tap},script=no,downscript=no,vhost=off`, '-device', 'virtio-net-pci,netdev=vnbnet0,mac=52:54:00:00:00:02'],
    },
    ledger,
  );
  t.diagnostic(`boot-to-ready in a namespace: ${g.bootToReadyS.toFixed(2)} s`);
  assert.deepEqual(g.commandLine.slice(0, 4), ['ip', 'netns', 'exec', ns]);
  assert.match(fs.readlinkSync(`/proc/${g.pid}/exe`), /qemu-system-x86_64/, 'the recorded pid is QEMU, not ip');
  assert.equal(fs.statSync(`/proc/${g.pid}/ns/net`).ino, fs.statSync(`/run/netns/${ns}`).ino, 'QEMU runs in the namespace');
  assert.match(fs.readFileSync(`/proc/${g.pid}/maps`, 'utf8'), / rw-s .*\/memfd:memory-backend-memfd/, 'guest RAM is a shared (MAP_SHARED) memfd');

  // The guest pings the namespace's tap address (busybox ping in the guest; no host tool needed).
  const ping = await g.agent.exec(['ping', '-c', '3', '-W', '5', '198.18.0.1'], { timeoutMs: 60_000 });
  assert.equal(ping.code, 0, ping.stdout + ping.stderr);
  assert.match(ping.stdout, /3 packets transmitted, 3 packets received/);
  const dev = await g.agent.readFile('/proc/net/dev');
  const rxPackets = Number(/^\s*eth0:\s*\d+\s+(\d+)/m.exec(dev)?.[1]);
  assert.ok(rxPackets >= 3, `guest eth0 received ${rxPackets} packets`);

  await g.shutdown();
  assert.equal(processAlive(g.pid), false);
  assert.deepEqual(leftoverSockDirs(name), []);
  assert.deepEqual(ledger.live().map((o) => o.kind).sort(), ['link', 'netns'], 'only the test\'s own objects remain');
  assert.deepEqual(await ledger.teardown(), []);
  const list = await exec(['ip', 'netns', 'list']);
  assert.ok(!list.stdout.includes(ns), 'namespace removed');
});
