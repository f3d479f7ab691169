// `vnetbench reference-device` as a user runs it: bad input exits 2 with the reason and creates
// nothing; a running device serves a vhost-user front-end (a frame transmitted over a loopback
// link comes back on RX; over a tap link it reaches the tap, and a frame sent into the tap reaches
// RX), and SIGTERM stops it cleanly (socket removed, ledger closed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ledger } from '../../../harness/core/ledger.ts';
import { shortId } from '../../../harness/core/names.ts';
import { inNetns } from '../../../harness/sys/netns.ts';
import { packetSocket } from '../../../harness/sys/packet.ts';
import { frameNonce, testFrame } from '../../../harness/vhost/frames.ts';
import { F, featureSet } from '../../../harness/virtio/features.ts';
import { runCli, type CliRun } from '../../helpers/cli.ts';
import { startReferenceDevice, tapInNamespace } from '../../helpers/reference-device.ts';
import { connectDriver, postRx, sendFrame, waitUsed, type Driver } from '../../unit/aio/rig.ts';
import { isRoot } from '../topology/host-state.ts';

const V1 = featureSet(F.F_VERSION_1);

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-refdev-'));
}


/** SIGTERM: exits (143, the signal's code after teardown), socket and ledger gone. */
async function stopDevice(run: CliRun, sock: string, state: string): Promise<void> {
  run.child.kill('SIGTERM');
  const exit = await run.exit;
  assert.ok(exit.code === 143 || exit.code === 0, `exit ${exit.code} ${exit.signal}: ${run.stderr()}`);
  assert.equal(fs.existsSync(sock), false, 'socket removed');
  const ledgers = path.join(state, 'ledgers');
  assert.deepEqual(fs.existsSync(ledgers) ? fs.readdirSync(ledgers) : [], [], 'ledger closed');
}

function rxFrame(d: Driver, at: number, len: number): Uint8Array {
  const r = d.mem.memory.regions[0]!;
  const off = at - Number(r.gpa);
  return r.bytes.slice(off + 12, off + len);
}

test('bad input: exit 2, the reason and a hint, nothing created', () => {
  const tmp = tmpDir();
  const sock = path.join(tmp, 'x.sock');
  // Each parse error is covered by test/unit/vhost/reference-options.test.ts; here one of them,
  // and a tap that does not exist (found only when the link opens, still before the socket).
  for (const [args, re] of [
    [['--socket', sock, '--fault', 'no-notify@second'], /--fault "no-notify@second": unknown mode "second"[\s\S]*hint: accepted: FAULT\[@MODE\]/],
    [['--socket', sock, '--link', 'tap:vnbmissing0'], /no interface vnbmissing0 in this network namespace[\s\S]*hint: create it first/],
  ] as const) {
    const r = runCli(['reference-device', ...args], { env: { VNETBENCH_STATE_DIR: path.join(tmp, 'state') } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
  }
  assert.deepEqual(fs.readdirSync(tmp), [], 'no socket, no ledger');
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('loopback: a transmitted frame comes back on RX; SIGTERM removes the socket', { timeout: 30_000 }, async () => {
  const tmp = tmpDir();
  const sock = path.join(tmp, 'dev.sock');
  const state = path.join(tmp, 'state');
  const run = await startReferenceDevice(['--link', 'loopback', '--fault', 'no-notify@after:1000'], sock, state);
  try {
    const d = await connectDriver(sock, { features: V1, size: 64 });
    const [at] = postRx(d, 4, 2048);
    sendFrame(d, testFrame(0x5e01, 120), 1);
    assert.equal((await waitUsed(d.tx[0]!, 1)).length, 1, 'TX used');
    const [u] = await waitUsed(d.rx[0]!, 1);
    assert.equal(u?.len, 132);
    assert.equal(frameNonce(rxFrame(d, at!, 132)), 0x5e01);
    await d.close();
    await stopDevice(run, sock, state);
    assert.match(run.stderr(), /link loopback: 1 sent, 1 delivered, 0 lost; fault no-notify@after:1000: after:1000 \(0 fired of \d+ opportunities\)/);
  } finally {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('tap in a namespace: TX reaches the tap, a frame into the tap reaches RX', { skip: !isRoot() && 'needs root (namespace, tap)', timeout: 30_000 }, async () => {
  const id = shortId();
  const tmp = tmpDir();
  const sock = path.join(tmp, 'dev.sock');
  const state = path.join(tmp, 'state');
  const prevState = process.env.VNETBENCH_STATE_DIR;
  process.env.VNETBENCH_STATE_DIR = path.join(tmp, 'test-state');
  const ledger = Ledger.create(id);
  let run: CliRun | undefined;
  try {
    const { ns, tap } = await tapInNamespace(ledger, id, 'rd');
    const wire = inNetns(ns, () => packetSocket(tap));
    run = await startReferenceDevice(['--link', `tap:${tap}`, '--netns', ns], sock, state);
    const d = await connectDriver(sock, { features: V1, size: 64 });
    sendFrame(d, testFrame(0x5e02, 100), 1);
    for (;;) if (frameNonce(await wire.recv(5000)) === 0x5e02) break;
    const bufs = postRx(d, 8, 2048);
    wire.send(testFrame(0x5e03, 110, Uint8Array.from([0x02, 0x76, 0x6e, 0x62, 0x00, 0x01]), Uint8Array.from([0x02, 0x76, 0x6e, 0x62, 0x00, 0x02])));
    const deadline = Date.now() + 5000;
    let got = false;
    while (!got && Date.now() < deadline) {
      for (const u of await waitUsed(d.rx[0]!, 1, Math.max(1, deadline - Date.now()))) got ||= frameNonce(rxFrame(d, bufs[u.token]!, u.len)) === 0x5e03;
    }
    assert.ok(got, 'the frame sent into the tap reached RX');
    wire.close();
    await d.close();
    await stopDevice(run, sock, state);
  } finally {
    if (run && run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    const left = await ledger.teardown();
    process.env.VNETBENCH_STATE_DIR = prevState;
    fs.rmSync(tmp, { recursive: true, force: true });
    assert.deepEqual(left, [], 'nothing left');
  }
});
