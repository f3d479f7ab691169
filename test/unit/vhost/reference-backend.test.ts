// The reference device as a vhost-user back-end (ReferenceServer, in this process, over a real
// unix socket with memfds and eventfds), judged by the vhost-user ring life cycle: a ring starts
// at SET_VRING_KICK and processes what is already available with no kick and no DRIVER_OK; it
// stops at GET_VRING_BASE, which names where; with bit 30 a ring starts disabled (TX used and
// discarded, no RX) until SET_VRING_ENABLE 1; SET_STATUS is recorded and starts or stops nothing,
// except 0, which stops every ring. One fault trigger spans every connection.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventfd } from '../../../harness/sys/eventfd.ts';
import { testFrame, frameNonce } from '../../../harness/vhost/frames.ts';
import { memfdGuestMemory } from '../../../harness/vhost/memfd-memory.ts';
import { REFERENCE_BACKEND_FEATURES, REFERENCE_BACKEND_PROTOCOL } from '../../../harness/vhost/reference-backend.ts';
import { openLink } from '../../../harness/vhost/reference-link.ts';
import { ReferenceServer } from '../../../harness/vhost/reference-server.ts';
import { DeviceRejectedError } from '../../../harness/vhost/session.ts';
import { VhostUserFrontend } from '../../../harness/vhost/vhost-user-frontend.ts';
import { parseFaultSpec } from '../../../harness/virtio/device/broken-net.ts';
import { GuestArena, createQueue } from '../../../harness/virtio/driver/index.ts';
import { byteView } from '../../../harness/virtio/driver/views.ts';
import { F, featureSet } from '../../../harness/virtio/features.ts';
import { VIRTIO_STATUS } from '../../../harness/virtio/layout.ts';
import { connectDriver, postRx, sendFrame, sleep, waitUsed, type Driver } from '../aio/rig.ts';

const V1 = featureSet(F.F_VERSION_1);
const { ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK } = VIRTIO_STATUS;

interface Served {
  socket: string;
  server: ReferenceServer;
  logs: string[];
  close(): Promise<void>;
}

function serve(fault?: string): Served {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-refdev-'));
  const socket = path.join(dir, 'dev.sock');
  const logs: string[] = [];
  const server = ReferenceServer.start({ socket, link: openLink({ kind: 'loopback' }), fault: fault ? parseFaultSpec(fault) : undefined, log: (m) => logs.push(m) });
  const served = server.serve();
  return {
    socket,
    server,
    logs,
    async close() {
      await server.close();
      await served;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The frame in RX buffer `at` (after the 12-byte header), by its nonce. */
function rxNonce(d: Driver, at: number, len: number): number | undefined {
  return frameNonce(d.mem.memory.regions[0].bytes.slice(at - Number(d.mem.memory.regions[0].gpa) + 12, at - Number(d.mem.memory.regions[0].gpa) + len));
}

describe('reference back-end: vhost-user ring life cycle', () => {
  let dev: Served;
  before(() => (dev = serve()));
  after(() => dev.close());

  it('offers bit 30 and REPLY_ACK, RESET_DEVICE, STATUS; a loopback frame comes back on RX', async () => {
    const d = await connectDriver(dev.socket, { features: REFERENCE_BACKEND_FEATURES & ~featureSet(F.F_RING_PACKED, F.F_IN_ORDER), size: 64 });
    try {
      assert.equal(d.up.offered, REFERENCE_BACKEND_FEATURES);
      assert.equal(d.up.protocolOffered, REFERENCE_BACKEND_PROTOCOL);
      const [rxAt] = postRx(d, 4, 2048);
      sendFrame(d, testFrame(0xab01, 100), 1);
      assert.equal((await waitUsed(d.tx[0]!, 1)).length, 1, 'TX used');
      const [u] = await waitUsed(d.rx[0]!, 1);
      assert.equal(u?.len, 112, 'RX used.len = header + frame');
      assert.equal(rxNonce(d, rxAt!, 112), 0xab01);
    } finally {
      await d.close();
    }
  });

  it('starts a ring at SET_VRING_KICK and uses what is already available: no kick, no status at all', async () => {
    const mem = memfdGuestMemory({ size: 4 << 20 });
    const arena = new GuestArena(mem.memory);
    const s = VhostUserFrontend.connect(dev.socket);
    const rx = createQueue<number>(arena, { size: 64, features: V1 });
    const tx = createQueue<number>(arena, { size: 64, features: V1 });
    const kicks = [eventfd(), eventfd()];
    const d = { session: s, mem, arena, rx: [rx], tx: [tx], kicks, calls: [], errs: [] } as unknown as Driver;
    try {
      await s.getFeatures();
      await s.setOwner();
      await s.setFeatures(V1); // no bit 30: rings run enabled
      await s.setMemTable(mem.memory);
      const [rxAt] = postRx(d, 2, 2048);
      // A TX buffer made available without a kick (sendFrame would kick).
      const frame = testFrame(0xab02, 90);
      const at = arena.alloc(12 + frame.length, 16);
      byteView(mem.memory, at + 12, frame.length).set(frame);
      tx.add([{ addr: at, len: 12 + frame.length }], [], 1);
      for (const [i, q] of [rx, tx].entries()) {
        await s.setVringNum(i, q.size);
        await s.setVringBase(i, q.deviceStart().base);
        await s.setVringAddr({ index: i, desc: BigInt(q.layout.desc), avail: BigInt(q.layout.driver), used: BigInt(q.layout.device) });
      }
      await s.setVringKick(0, kicks[0]!.fd);
      await s.setVringKick(1, kicks[1]!.fd);
      assert.equal(kicks[1]!.read(), 0n, 'the TX ring was never kicked');
      assert.equal((await waitUsed(tx, 1)).length, 1, 'TX buffer used at start');
      assert.equal((await waitUsed(rx, 1)).length, 1, 'looped back into the RX ring');
      assert.equal(rxNonce(d, rxAt!, 102), 0xab02);
    } finally {
      await s.close();
      kicks.forEach((k) => k.close());
      mem.close();
    }
  });

  it('stops a ring at GET_VRING_BASE (the next avail index), touches it no more, resumes where it stopped', async () => {
    const d = await connectDriver(dev.socket, { features: V1, size: 64 });
    try {
      sendFrame(d, testFrame(0xab03, 80), 1);
      sendFrame(d, testFrame(0xab04, 80), 2);
      assert.equal((await waitUsed(d.tx[0]!, 2)).length, 2);
      assert.equal(await d.session.getVringBase(1), 2);
      sendFrame(d, testFrame(0xab05, 80), 3);
      d.kicks[1]!.signal();
      await sleep(200);
      assert.equal(d.tx[0]!.getUsed(), null, 'a stopped ring is not used');
      await d.session.setVringBase(1, 2);
      await d.session.setVringKick(1, d.kicks[1]!.fd);
      assert.deepEqual((await waitUsed(d.tx[0]!, 1)).map((u) => u.token), [3], 'restarted where it stopped');
    } finally {
      await d.close();
    }
  });

  it('with bit 30 a ring starts disabled: TX used and discarded, no RX; SET_VRING_ENABLE 1 lets data pass', async () => {
    const d = await connectDriver(dev.socket, { features: V1, size: 64, enable: [] });
    try {
      assert.ok(d.up.acked & featureSet(F.VHOST_USER_F_PROTOCOL_FEATURES), 'bit 30 acked');
      postRx(d, 4, 2048);
      sendFrame(d, testFrame(0xab06, 80), 1);
      assert.equal((await waitUsed(d.tx[0]!, 1)).length, 1, 'disabled TX ring still uses its buffers');
      await sleep(200);
      assert.equal(d.rx[0]!.getUsed(), null, 'nothing reached RX');
      await d.session.setVringEnable(0, true);
      await d.session.setVringEnable(1, true);
      sendFrame(d, testFrame(0xab07, 80), 2);
      const [u] = await waitUsed(d.rx[0]!, 1);
      assert.equal(u?.len, 92);
    } finally {
      await d.close();
    }
  });

  it('SET_STATUS is recorded and starts or stops nothing; SET_STATUS 0 stops every ring where it is', async () => {
    const d = await connectDriver(dev.socket, { features: V1, size: 64 });
    try {
      assert.equal(await d.session.getStatus(), ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
      await d.session.setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK); // DRIVER_OK dropped: rings go on
      assert.equal(await d.session.getStatus(), ACKNOWLEDGE | DRIVER | FEATURES_OK);
      sendFrame(d, testFrame(0xab08, 80), 1);
      assert.equal((await waitUsed(d.tx[0]!, 1)).length, 1);
      await d.session.setStatus(0);
      assert.equal(await d.session.getStatus(), 0);
      sendFrame(d, testFrame(0xab09, 80), 2);
      d.kicks[1]!.signal();
      await sleep(200);
      assert.equal(d.tx[0]!.getUsed(), null, 'no ring runs after status 0');
      assert.equal(await d.session.getVringBase(1), 1, 'GET_VRING_BASE after status 0 names where the ring stopped');
    } finally {
      await d.close();
    }
  });

  it('refuses what it cannot do, saying why, and goes on serving', async () => {
    const d = await connectDriver(dev.socket, { features: V1, size: 64 });
    try {
      const rejects = async (p: Promise<unknown>, re: RegExp) => {
        await assert.rejects(p, DeviceRejectedError);
        assert.ok(dev.logs.some((l) => re.test(l)), `log explains: ${re}\n${dev.logs.slice(-3).join('\n')}`);
      };
      await rejects(d.session.setVringNum(2, 64), /SET_VRING_NUM: ring 2 does not exist \(this device has 2 rings: 1 queue pair\)/);
      await rejects(d.session.setFeatures(featureSet(F.F_VERSION_1, F.NET_F_MQ)), /features not offered: NET_F_MQ/);
      await rejects(d.session.call('SET_LOG_BASE', { size: 0n, offset: 0n }), /SET_LOG_BASE \(dirty logging\) is not supported/);
      await rejects(d.session.setVringKick(1, null), /polling mode/);
      sendFrame(d, testFrame(0xab0a, 80), 1);
      assert.equal((await waitUsed(d.tx[0]!, 1)).length, 1);
    } finally {
      await d.close();
    }
  });

  it('a ring without addresses cannot start', async () => {
    const s = VhostUserFrontend.connect(dev.socket);
    const k = eventfd();
    try {
      const proto = await s.getProtocolFeatures();
      await s.setProtocolFeatures(proto);
      await s.setFeatures(V1);
      await assert.rejects(s.setVringKick(1, k.fd), DeviceRejectedError);
      assert.match(dev.logs.at(-1)!, /SET_VRING_KICK ring 1: the ring cannot start without SET_MEM_TABLE, SET_VRING_NUM, SET_VRING_ADDR/);
    } finally {
      await s.close();
      k.close();
    }
  });
});

describe('reference back-end: a fault fires once in the life of the process', () => {
  it('wrong-used-len@first: the first TX chain of the first connection only', async () => {
    const dev = serve('wrong-used-len@first');
    try {
      const lens: number[] = [];
      for (let c = 0; c < 2; c++) {
        const d = await connectDriver(dev.socket, { features: V1, size: 64 });
        for (let k = 0; k < 2; k++) sendFrame(d, testFrame(0xac00 + 2 * c + k, 80), k);
        lens.push(...(await waitUsed(d.tx[0]!, 2)).map((u) => u.len));
        await d.close();
      }
      assert.deepEqual(lens, [92, 0, 0, 0]);
      assert.equal(dev.server.trigger?.describe(), 'first (1 fired of 4 opportunities)');
      assert.match(dev.server.summary(), /fault wrong-used-len@first: first \(1 fired of 4 opportunities\)/);
    } finally {
      await dev.close();
    }
  });
});
