// Live: DPDK testpmd as a vhost-user device. Full bring-up over a memfd memory table, a frame
// written by hand into TX ring 1 comes out of the veth, a frame injected on the veth lands in a
// posted RX buffer of ring 0 with a call, then teardown leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Exchange } from '../../../harness/vhost/session.ts';
import { Ledger, processStartTime } from '../../../harness/core/ledger.ts';
import { exec, succeeds } from '../../../harness/core/exec.ts';
import { TestpmdDut } from '../../../harness/vhost/testpmd.ts';
import { memfdGuestMemory } from '../../../harness/vhost/memfd-memory.ts';
import { bringUp, tearDown } from '../../../harness/vhost/bringup.ts';
import { eventfd } from '../../../harness/sys/eventfd.ts';
import { F, featureSet, has } from '../../../harness/virtio/features.ts';
import { GuestArena, createQueue } from '../../../harness/virtio/driver/index.ts';
import { byteView } from '../../../harness/virtio/driver/views.ts';
import { testFrame, frameNonce, isTestFrame } from '../../../harness/vhost/frames.ts';
import { shortId } from '../../../harness/core/names.ts';

const HDR = 12; // virtio-net header with VERSION_1 (§5.1.6)
const RING = 256;

/** Re-record the codec unit test's fixture: the exact bytes of this bring-up, both directions. */
function recordFixture(transcript: readonly Exchange[]): void {
  const version = `dpdk-dev ${execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'dpdk-dev']).toString()}`;
  const out = {
    source: `${version}, dpdk-testpmd as a vhost-user device, recorded by test/integration/vhost/testpmd.test.ts`,
    recordedAt: new Date().toISOString(),
    exchanges: transcript.map((e) => ({ op: e.op, flags: e.flags, wire: e.wire })),
  };
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'unit', 'vhost', 'fixtures', 'testpmd-22.11-bringup.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(out, null, 1) + '\n');
}

async function haveTestpmd(): Promise<string | undefined> {
  if (!(await succeeds(['sh', '-c', 'command -v dpdk-testpmd']))) return 'dpdk-testpmd not installed (Debian dpdk-dev)';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, AF_PACKET)';
  return undefined;
}

test('testpmd vhost-user: bring-up, TX and RX through real frames, clean teardown', async (t) => {
  const missing = await haveTestpmd();
  if (missing) return t.skip(missing);

  const ledger = Ledger.create(`test-vhost-${shortId()}`);
  let lapT = performance.now();
  const lap = (what: string) => {
    const now = performance.now();
    t.diagnostic(`${what}: ${Math.round(now - lapT)} ms`);
    lapT = now;
  };
  let dut: TestpmdDut | undefined;
  const mem = memfdGuestMemory({ size: 4 << 20 });
  const kicks = [eventfd(), eventfd()];
  const calls = [eventfd(), eventfd()];
  try {
    dut = await TestpmdDut.start(ledger, { queues: 1 });
    lap('DUT ready (namespace, veth, testpmd, health probe)');
    t.diagnostic(`testpmd spawn to listening socket: ${dut.startTimes[0]} ms; first GET_FEATURES answered after ${dut.probeTimes[0]} ms more`);
    assert.ok(dut.alive(), 'testpmd running after start');
    assert.ok(dut.offeredFeatures !== undefined && has(dut.offeredFeatures, F.F_VERSION_1), 'health probe got features with VERSION_1');

    // Rings in guest memory at GPAs the device only knows through the memory table.
    const arena = new GuestArena(mem.memory);
    const wanted = featureSet(F.F_VERSION_1);
    const rx = createQueue<number>(arena, { size: RING, features: wanted, kind: 'split' });
    const tx = createQueue<number>(arena, { size: RING, features: wanted, kind: 'split' });

    const session = dut.connect();
    const up = await bringUp(session, {
      features: wanted,
      memory: mem.memory,
      rings: [rx, tx].map((q, i) => ({
        index: i,
        num: q.size,
        desc: BigInt(q.layout.desc),
        avail: BigInt(q.layout.driver),
        used: BigInt(q.layout.device),
        kickFd: kicks[i].fd,
        callFd: calls[i].fd,
        base: q.deviceStart().base,
      })),
    });
    t.diagnostic(`bring-up (${session.transcript.length} messages): ${up.durationMs} ms`);
    assert.ok(has(up.acked, F.F_VERSION_1));
    assert.ok(has(up.acked, F.VHOST_USER_F_PROTOCOL_FEATURES), 'bit 30 acked for ring enable control');
    assert.ok(up.protocolAcked !== undefined && (up.protocolAcked & (1n << 3n)) !== 0n, 'REPLY_ACK negotiated with testpmd');
    assert.ok(up.statusAfterFeaturesOk !== undefined && (up.statusAfterFeaturesOk & 8) !== 0, 'FEATURES_OK stuck');
    assert.ok(session.transcript.every((e) => e.ok), 'every control exchange succeeded');
    // Every SET_* after REPLY_ACK carried NEED_REPLY and got a zero ack.
    const acked = session.transcript.filter((e) => e.op.startsWith('SET_') && e.op !== 'SET_PROTOCOL_FEATURES');
    assert.ok(acked.length >= 10);
    for (const e of acked) {
      assert.equal((e.flags ?? 0) & 0x8, 0x8, `${e.op} sent with NEED_REPLY`);
      assert.equal(e.reply, '0x0', `${e.op} acked with 0`);
    }

    // TX: one device-readable buffer = 12-byte header (all zero: no offloads) + frame.
    const frameOut = testFrame(0x1234_0001, 98);
    const txBuf = arena.alloc(2048, 64);
    byteView(mem.memory, txBuf, HDR).fill(0);
    byteView(mem.memory, txBuf + HDR, frameOut.length).set(frameOut);
    dut.frames.drain();
    const head = tx.add([{ addr: txBuf, len: HDR + frameOut.length }], [], 1);
    assert.ok(head >= 0);
    if (tx.kickNeeded()) kicks[1].signal();
    const seen = await dut.frames.expect(isTestFrame(0x1234_0001), 5000);
    assert.deepEqual(Buffer.from(seen), Buffer.from(frameOut), 'frame on the veth is byte-identical to the TX buffer');
    const txCall = await calls[1].wait(5000).catch(() => 0n);
    let used = tx.getUsed();
    for (let i = 0; !used && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 10));
      used = tx.getUsed();
    }
    assert.ok(used, 'TX buffer returned to the used ring');
    assert.equal(used.id, head);
    t.diagnostic(`TX used len ${used.len}, call count ${txCall}`);
    lap('bring-up and TX');

    // RX: post buffers, inject a frame at the probe end, expect it in one with a call.
    const rxBufs: number[] = [];
    for (let i = 0; i < 8; i++) {
      const b = arena.alloc(2048, 64);
      byteView(mem.memory, b, 2048).fill(0xa5); // canary
      rxBufs.push(b);
      assert.ok(rx.add([], [{ addr: b, len: 2048 }], i) >= 0);
    }
    if (rx.kickNeeded()) kicks[0].signal();
    const frameIn = testFrame(0x1234_0002, 120, Uint8Array.from([0x02, 0x76, 0x6e, 0x62, 0, 1]), Uint8Array.from([0x02, 0x76, 0x6e, 0x62, 0, 2]));
    dut.frames.inject(frameIn);
    const rxCalls = await calls[0].wait(5000);
    assert.ok(rxCalls >= 1n, 'device signalled the call eventfd for RX');
    const got = rx.getUsed();
    assert.ok(got, 'an RX buffer was used');
    const buf = rxBufs[got.token];
    assert.equal(got.len, HDR + frameIn.length, 'used.len = header + frame (§2.7.8)');
    const data = byteView(mem.memory, buf + HDR, frameIn.length);
    assert.equal(frameNonce(data), 0x1234_0002);
    assert.deepEqual(Buffer.from(data), Buffer.from(frameIn));
    const hdr = byteView(mem.memory, buf, HDR);
    t.diagnostic(`RX header ${Buffer.from(hdr).toString('hex')}`);

    lap('RX');
    // Teardown: stop both rings, reset.
    const down = await tearDown(session, [0, 1]);
    if (process.env.VNETBENCH_RECORD_FIXTURES) recordFixture(session.transcript);
    assert.equal(down.bases[1], 1, 'TX ring stopped after the one buffer we published');
    assert.equal(down.bases[0], 1, 'RX ring consumed exactly one buffer');
    assert.equal(down.reset, 'RESET_OWNER', 'testpmd 22.11 does not offer RESET_DEVICE');
    await session.close();
    assert.ok(dut.alive(), 'testpmd survived the whole session');
  } finally {
    for (const e of [...kicks, ...calls]) e.close();
    mem.close();
    const wire = dut?.wire;
    const pid = dut?.pid;
    const sock = dut?.socketPath;
    const startTime = pid ? processStartTime(pid) : undefined;
    if (dut) await dut.close();
    lap('teardown');
    const left = await ledger.teardown();
    assert.deepEqual(left, [], 'ledger teardown left nothing');
    if (dut && wire) {
      assert.equal(pid && processStartTime(pid) === startTime && startTime !== undefined, false, 'testpmd process gone');
      assert.equal(fs.existsSync(sock!), false, 'socket removed');
      assert.equal(fs.existsSync(dut.workDir), false, 'work dir removed');
      const ns = await exec(['ip', 'netns', 'list']);
      assert.ok(!ns.stdout.includes(wire.ns), 'namespace removed');
    }
  }
});
