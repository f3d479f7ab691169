// The vhost-user front-end against an in-process device built from the same codec (device side:
// vhost-user-device-io.ts), over a real unix socket with real fds: memfds the device maps, eventfds
// it signals. Covers REPLY_ACK, refusals, timeouts and a device that hangs up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VhostUserListener, PeerClosedError } from '../../../harness/vhost/vhost-user-channel.ts';
import { VhostUserDeviceConnection, type DeviceHandlers } from '../../../harness/vhost/vhost-user-device-io.ts';
import { VhostUserFrontend } from '../../../harness/vhost/vhost-user-frontend.ts';
import { DeviceRejectedError, NotExpressibleError } from '../../../harness/vhost/session.ts';
import { bringUp, tearDown } from '../../../harness/vhost/bringup.ts';
import { memfdGuestMemory } from '../../../harness/vhost/memfd-memory.ts';
import { mapFd } from '../../../harness/sys/memfd.ts';
import { wrapEventFd, eventfd } from '../../../harness/sys/eventfd.ts';
import { closeQuiet } from '../../../harness/sys/libc.ts';
import { TimeoutError } from '../../../harness/core/errors.ts';
import { F, featureSet } from '../../../harness/virtio/features.ts';
import type { RequestMessage } from '../../../harness/vhost/vhost-user-codec.ts';

const OFFERED = featureSet(F.F_VERSION_1, F.F_EVENT_IDX, F.VHOST_USER_F_PROTOCOL_FEATURES);
const PROTOCOL = (1n << 0n) | (1n << 3n) | (1n << 16n); // MQ, REPLY_ACK, STATUS

interface DeviceState {
  log: RequestMessage[];
  mapped?: Uint8Array;
  callFds: Map<number, number>;
  status: bigint;
}

/** A small device: answers everything, keeps what it was told, maps the memory table. */
function device(state: DeviceState, override: Partial<DeviceHandlers> = {}): DeviceHandlers {
  const keep = (m: RequestMessage) => {
    state.log.push(m);
    for (const f of m.fds) if (m.name !== 'SET_VRING_CALL') closeQuiet(f);
  };
  const base: DeviceHandlers = {
    GET_FEATURES: (m) => (keep(m), OFFERED),
    SET_FEATURES: (m) => void keep(m),
    SET_OWNER: (m) => void keep(m),
    RESET_OWNER: (m) => void keep(m),
    SET_MEM_TABLE: (m) => {
      const r = m.payload.regions[0];
      state.mapped = mapFd(m.fds[0], Number(r.size) + Number(r.mmapOffset), 0).bytes.subarray(Number(r.mmapOffset));
      keep(m);
    },
    SET_LOG_BASE: (m) => void keep(m),
    SET_LOG_FD: (m) => void keep(m),
    SET_VRING_NUM: (m) => void keep(m),
    SET_VRING_ADDR: (m) => void keep(m),
    SET_VRING_BASE: (m) => void keep(m),
    GET_VRING_BASE: (m) => (keep(m), { index: m.payload.index, num: 42 }),
    SET_VRING_KICK: (m) => void keep(m),
    SET_VRING_CALL: (m) => {
      if (m.fds[0] !== undefined) state.callFds.set(m.payload.index, m.fds[0]);
      keep(m);
    },
    SET_VRING_ERR: (m) => void keep(m),
    GET_PROTOCOL_FEATURES: (m) => (keep(m), PROTOCOL),
    SET_PROTOCOL_FEATURES: (m) => void keep(m),
    GET_QUEUE_NUM: (m) => (keep(m), 2n),
    SET_VRING_ENABLE: (m) => void keep(m),
    SEND_RARP: (m) => void keep(m),
    NET_SET_MTU: (m) => void keep(m),
    SET_BACKEND_REQ_FD: (m) => void keep(m),
    IOTLB_MSG: (m) => (keep(m), 0n),
    SET_VRING_ENDIAN: (m) => void keep(m),
    GET_CONFIG: (m) => (keep(m), m.payload),
    SET_CONFIG: (m) => void keep(m),
    POSTCOPY_ADVISE: (m) => (keep(m), null),
    POSTCOPY_LISTEN: (m) => void keep(m),
    POSTCOPY_END: (m) => (keep(m), 0n),
    GET_INFLIGHT_FD: (m) => (keep(m), m.payload),
    SET_INFLIGHT_FD: (m) => void keep(m),
    RESET_DEVICE: (m) => void keep(m),
    VRING_KICK: (m) => void keep(m),
    GET_MAX_MEM_SLOTS: (m) => (keep(m), 8n),
    ADD_MEM_REG: (m) => void keep(m),
    REM_MEM_REG: (m) => void keep(m),
    SET_STATUS: (m) => {
      state.status = m.payload;
      keep(m);
    },
    GET_STATUS: (m) => (keep(m), state.status),
  };
  return { ...base, ...override } as DeviceHandlers;
}

async function withDevice(
  handlers: (s: DeviceState) => DeviceHandlers,
  body: (fe: VhostUserFrontend, s: DeviceState, conn: Promise<VhostUserDeviceConnection>) => Promise<void>,
): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-vu-'));
  const sock = path.join(dir, 'dev.sock');
  const listener = VhostUserListener.listen(sock);
  const state: DeviceState = { log: [], callFds: new Map(), status: 0n };
  const conn = VhostUserDeviceConnection.accept(listener, 2000);
  const serving = conn.then((c) => c.serve(handlers(state)).finally(() => c.close()));
  const fe = VhostUserFrontend.connect(sock, { replyTimeoutMs: 300 });
  try {
    await body(fe, state, conn);
  } finally {
    await fe.close();
    // A device stuck in a handler never finishes serving: give it a moment, then hang up on it.
    await Promise.race([serving.catch(() => undefined), new Promise((r) => setTimeout(r, 200))]);
    (await conn).close();
    listener.close();
    for (const f of state.callFds.values()) closeQuiet(f);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('bring-up against an in-process device: order, NEED_REPLY, fds that work', async () => {
  await withDevice(device, async (fe, st) => {
    const mem = memfdGuestMemory({ regions: [{ gpa: 0x1_0000_0000n, size: 1 << 20 }, { gpa: 0x2_0000_0000n, size: 1 << 16 }] });
    const call = eventfd();
    try {
      mem.memory.regions[0].bytes.set(Buffer.from('marker'), 100);
      const up = await bringUp(fe, {
        features: featureSet(F.F_VERSION_1),
        memory: mem.memory,
        rings: [{ index: 0, num: 64, desc: 0x1_0000_0000n, avail: 0x1_0000_0400n, used: 0x1_0000_1000n, kickFd: null, callFd: call.fd }],
      });
      assert.equal(up.acked, featureSet(F.F_VERSION_1, F.VHOST_USER_F_PROTOCOL_FEATURES));
      assert.equal(up.protocolAcked, PROTOCOL);
      assert.equal(up.queueNum, 2);
      assert.equal(
        st.log.map((m) => m.name).join(' '),
        'GET_FEATURES GET_PROTOCOL_FEATURES SET_PROTOCOL_FEATURES GET_QUEUE_NUM SET_OWNER SET_STATUS SET_FEATURES SET_STATUS GET_STATUS ' +
          'SET_MEM_TABLE SET_VRING_NUM SET_VRING_BASE SET_VRING_ADDR SET_VRING_KICK SET_VRING_CALL SET_VRING_ENABLE SET_STATUS',
      );
      // NEED_REPLY on every request after SET_PROTOCOL_FEATURES that has no reply of its own.
      for (const m of st.log.slice(4)) {
        if (!m.name.startsWith('GET_')) assert.equal(m.flags & 8, 8, `${m.name} carries NEED_REPLY`);
      }
      // Two regions of one memfd: both fds arrived; region 1 has mmap_offset 1 MiB.
      const table = st.log.find((m) => m.name === 'SET_MEM_TABLE');
      assert.ok(table && table.name === 'SET_MEM_TABLE');
      assert.equal(table.fds.length, 2);
      assert.equal(table.payload.regions[1].mmapOffset, BigInt(1 << 20));
      assert.equal(Buffer.from(st.mapped!.subarray(100, 106)).toString(), 'marker', 'the device sees our memory through the fd');
      // Ring addresses went out as user addresses, translated from the GPAs.
      const addr = st.log.find((m) => m.name === 'SET_VRING_ADDR');
      assert.ok(addr && addr.name === 'SET_VRING_ADDR');
      assert.equal(addr.payload.desc, mem.memory.regions[0].uva);
      assert.equal(addr.payload.used, mem.memory.regions[0].uva + 0x1000n);
      // No kick fd: bit 8 set, no fd passed.
      const kick = st.log.find((m) => m.name === 'SET_VRING_KICK');
      assert.ok(kick && kick.name === 'SET_VRING_KICK');
      assert.deepEqual(kick.payload, { index: 0, noFd: true });
      assert.equal(kick.fds.length, 0);
      // The call eventfd the device received is ours.
      wrapEventFd(st.callFds.get(0)!).signal(3n);
      assert.equal(await call.wait(1000), 3n);
      assert.equal(st.status, 0xfn, 'DRIVER_OK sent last');
      const down = await tearDown(fe, [0]);
      assert.deepEqual(down, { bases: { 0: 42 }, reset: 'RESET_OWNER' });
      assert.ok(fe.transcript.every((e) => e.ok && e.wire?.sent));
    } finally {
      call.close();
      mem.close();
    }
  });
});

test('a refused SET_* surfaces as DeviceRejectedError at that request', async () => {
  const refuse = (s: DeviceState) =>
    device(s, {
      SET_FEATURES: () => {
        throw new Error('feature subset not acceptable');
      },
    });
  await withDevice(refuse, async (fe) => {
    await fe.getFeatures();
    await fe.setProtocolFeatures(PROTOCOL);
    await assert.rejects(fe.setFeatures(featureSet(F.F_VERSION_1)), (e: Error) => e instanceof DeviceRejectedError && /SET_FEATURES \(REPLY_ACK status 1\)/.test(e.message));
    // The session goes on: the refusal was answered in-band.
    assert.equal(await fe.getFeatures(), OFFERED);
    const last = fe.transcript[fe.transcript.length - 2];
    assert.equal(last.op, 'SET_FEATURES');
    assert.equal(last.ok, false);
  });
});

test('a device that does not answer: TimeoutError naming the request, and the session ends', async () => {
  const silent = (s: DeviceState) => device(s, { GET_FEATURES: () => new Promise<bigint>(() => {}) });
  await withDevice(silent, async (fe) => {
    let ticks = 0;
    const iv = setInterval(() => ticks++, 10);
    await assert.rejects(fe.getFeatures(), (e: Error) => e instanceof TimeoutError && /the reply to GET_FEATURES from .*dev\.sock/.test(e.message));
    clearInterval(iv);
    assert.ok(ticks >= 10, `event loop kept running while waiting (${ticks} ticks)`);
    assert.ok(fe.failure instanceof TimeoutError);
    await assert.rejects(fe.setOwner(), TimeoutError);
  });
});

test('a device that hangs up: PeerClosedError', async () => {
  await withDevice(device, async (fe, _s, conn) => {
    await fe.getFeatures();
    (await conn).close();
    await assert.rejects(fe.getProtocolFeatures(), PeerClosedError);
  });
});

test('operations the negotiation did not enable are refused before anything is sent', async () => {
  await withDevice(device, async (fe, st) => {
    await fe.getFeatures();
    await assert.rejects(fe.setStatus(1), (e: Error) => e instanceof NotExpressibleError && /STATUS not negotiated/.test(e.message));
    await assert.rejects(fe.getQueueNum(), NotExpressibleError);
    assert.equal(st.log.length, 1);
    assert.equal(fe.supports('status').ok, false);
  });
});
