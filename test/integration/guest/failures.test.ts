// Failure paths with real guests: QEMU dying under a pending call, and a guest that cannot bring
// its NIC up. Both must fail promptly with the reason, and leave nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ledger, processAlive } from '../../../harness/core/ledger.ts';
import { shortId } from '../../../harness/core/names.ts';
import { TimeoutError } from '../../../harness/core/errors.ts';
import { launchGuest } from '../../../harness/guest/qemu.ts';
import { AgentError } from '../../../harness/guest/agent.ts';
import { baseSpec, isolateState, leftoverSockDirs, missing, testImage } from './helpers.ts';

async function setup(t: { after: (fn: () => Promise<void>) => void }, role: string) {
  const stateDir = isolateState();
  const id = shortId();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `vnb-${id}-work-`));
  const ledger = Ledger.create(`guest-test-${id}`);
  t.after(async () => {
    await ledger.teardown();
    fs.rmSync(workDir, { recursive: true, force: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  return { name: `vnb${id}${role}`, workDir, ledger, img: await testImage() };
}

test('QEMU killed under a pending call: the call fails with the exit reason, not a timeout', { timeout: 600_000 }, async (t) => {
  const why = await missing();
  if (why) return t.skip(why);
  const { name, workDir, ledger, img } = await setup(t, 'kill');
  const g = await launchGuest(baseSpec(img, name, workDir), ledger);
  const pending = g.agent.exec(['sleep', '600'], { timeoutMs: 300_000 });
  process.kill(g.pid, 'SIGKILL');
  await assert.rejects(pending, (e: unknown) => {
    assert.ok(e instanceof AgentError && !(e instanceof TimeoutError), String(e));
    assert.match((e as Error).message, /QEMU \(pid \d+\) killed by SIGKILL/);
    return true;
  });
  await g.shutdown();
  assert.equal(processAlive(g.pid), false);
  assert.deepEqual(leftoverSockDirs(name), []);
  assert.deepEqual(ledger.live(), []);
});

test('a guest without a NIC reports FAIL with the reason; the launch rejects and cleans up', { timeout: 600_000 }, async (t) => {
  const why = await missing();
  if (why) return t.skip(why);
  const { name, workDir, ledger, img } = await setup(t, 'nonic');
  await assert.rejects(
    launchGuest({ ...baseSpec(img, name, workDir), netArgs: [] }, ledger),
    (e: unknown) => e instanceof AgentError && /guest bring-up failed: no network interface appeared/.test((e as Error).message),
  );
  assert.deepEqual(leftoverSockDirs(name), []);
  assert.deepEqual(ledger.live(), [], 'QEMU and its sockets removed after the failed launch');
});

test('a QEMU that cannot start fails the launch with its own error message', { timeout: 120_000 }, async (t) => {
  const why = await missing();
  if (why) return t.skip(why);
  const { name, workDir, ledger, img } = await setup(t, 'bad');
  await assert.rejects(
    launchGuest({ ...baseSpec(img, name, workDir), netArgs: ['-device', 'no-such-device-vnb'] }, ledger),
    /QEMU \(pid \d+\) exited with code 1 during boot[\s\S]*no-such-device-vnb/,
  );
  assert.deepEqual(leftoverSockDirs(name), []);
  assert.deepEqual(ledger.live(), []);
});
