// The guest is untrusted. Hostile rings written with the raw driver (descriptor loops, addresses
// outside the memory table, lengths that overflow, chains longer than the ring, nested indirect
// tables, avail.idx jumps, heads out of range, too-small buffers) must each mark just that ring
// broken with the precise reason (DEVICE_NEEDS_RESET in the status, the ring's err eventfd
// signalled), touch no guest memory outside the rings, and leave the device serving: after every
// case a fresh connection still moves a frame. One device serves the whole set, both engines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, featureSet } from '../../../harness/virtio/features.ts';
import { VIRTIO_STATUS, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../../harness/virtio/layout.ts';
import { RawSplitRing, writeSplitTable } from '../../../harness/virtio/driver/raw.ts';
import { byteView } from '../../../harness/virtio/driver/views.ts';
import { DEFAULT_GPA_BASE } from '../../../harness/virtio/memory.ts';
import { testFrame, frameNonce } from '../../../harness/vhost/frames.ts';
import type { EngineName } from '../../../harness/aio/engines/types.ts';
import { connectDriver, isRoot, sendFrame, sleep, startDevice, waitUsed, type DeviceRig, type Driver } from './rig.ts';

const skip = !isRoot() && 'needs root (network namespace, tap, AF_PACKET)';
const MEM = 16 << 20;
const BASE = Number(DEFAULT_GPA_BASE);
const END = BASE + MEM;
const RING = 64;

interface Case {
  name: string;
  ring: 0 | 1;
  features: bigint;
  reason: RegExp;
  /** Write the hostile layout with the raw driver and notify. */
  attack(raw: RawSplitRing, d: Driver, scratch: number): void;
}

const BASIC = featureSet(F.F_VERSION_1);
const IND = featureSet(F.F_VERSION_1, F.F_INDIRECT_DESC);
const N = VIRTQ_DESC_F_NEXT;
const W = VIRTQ_DESC_F_WRITE;

const CASES: Case[] = [
  {
    name: 'descriptor loop',
    ring: 1,
    features: BASIC,
    reason: /descriptor loop at index 0/,
    attack: (raw, _d, s) => {
      raw.writeDesc(0, { addr: s, len: 12, flags: N, next: 1 });
      raw.writeDesc(1, { addr: s + 12, len: 64, flags: N, next: 0 });
      raw.publish(0);
    },
  },
  {
    name: 'buffer outside the memory table',
    ring: 1,
    features: BASIC,
    reason: /descriptor 0: address 0x41001000 \+ len 100 outside memory table/,
    attack: (raw) => {
      raw.writeDesc(0, { addr: END + 0x1000, len: 100, flags: 0, next: 0 });
      raw.publish(0);
    },
  },
  {
    name: 'buffer straddling the end of memory',
    ring: 1,
    features: BASIC,
    reason: /outside memory table/,
    attack: (raw) => {
      raw.writeDesc(0, { addr: END - 50, len: 100, flags: 0, next: 0 });
      raw.publish(0);
    },
  },
  {
    name: 'address + length overflowing 2^64',
    ring: 1,
    features: BASIC,
    reason: /overflows 2\^64/,
    attack: (raw) => {
      raw.writeDesc(0, { addr: 0xfffffffffffff000, len: 0x2000, flags: 0, next: 0 });
      raw.publish(0);
    },
  },
  {
    name: 'indirect chain longer than the ring',
    ring: 1,
    features: IND,
    reason: /longer than queue size 64/,
    attack: (raw, d, s) => {
      const table = d.arena.alloc(16 * (RING + 1), 16);
      writeSplitTable(d.mem.memory, table, [...Array(RING + 1).keys()].map((i) => ({ addr: s, len: 12, flags: i < RING ? N : 0, next: i + 1 })));
      raw.writeDesc(0, { addr: table, len: 16 * (RING + 1), flags: VIRTQ_DESC_F_INDIRECT, next: 0 });
      raw.publish(0);
    },
  },
  {
    name: 'nested indirect table',
    ring: 1,
    features: IND,
    reason: /sets INDIRECT inside an indirect table/,
    attack: (raw, d, s) => {
      const inner = d.arena.alloc(32, 16);
      const outer = d.arena.alloc(32, 16);
      writeSplitTable(d.mem.memory, inner, [{ addr: s, len: 64, flags: 0, next: 0 }]);
      writeSplitTable(d.mem.memory, outer, [{ addr: inner, len: 16, flags: VIRTQ_DESC_F_INDIRECT, next: 0 }]);
      raw.writeDesc(0, { addr: outer, len: 16, flags: VIRTQ_DESC_F_INDIRECT, next: 0 });
      raw.publish(0);
    },
  },
  {
    name: 'avail.idx jumping past the ring size',
    ring: 1,
    features: BASIC,
    reason: /avail\.idx jumped from 0 to 74/,
    attack: (raw) => raw.setAvailIdx(RING + 10),
  },
  {
    name: 'avail ring entry beyond the descriptor table',
    ring: 1,
    features: BASIC,
    reason: /avail\.ring\[0\] = 67 is not a descriptor index/,
    attack: (raw) => raw.publish(RING + 3),
  },
  {
    name: 'next beyond the descriptor table',
    ring: 1,
    features: BASIC,
    reason: /has next = 200, beyond the table of 64/,
    attack: (raw, _d, s) => {
      raw.writeDesc(0, { addr: s, len: 12, flags: N, next: 200 });
      raw.publish(0);
    },
  },
  {
    name: 'TX chain shorter than the virtio-net header',
    ring: 1,
    features: BASIC,
    reason: /has 5 device-readable bytes, less than the 12-byte virtio-net header/,
    attack: (raw, _d, s) => {
      raw.writeDesc(0, { addr: s, len: 5, flags: 0, next: 0 });
      raw.publish(0);
    },
  },
  {
    name: 'RX buffer running past the end of memory (nothing may be written)',
    ring: 0,
    features: BASIC,
    reason: /outside memory table/,
    attack: (raw) => {
      raw.writeDesc(0, { addr: END - 100, len: 2048, flags: W, next: 0 });
      raw.publish(0);
    },
  },
  {
    name: 'RX buffer smaller than the header with MRG_RXBUF',
    ring: 0,
    features: featureSet(F.F_VERSION_1, F.NET_F_MRG_RXBUF),
    reason: /has 8 device-writable bytes; with MRG_RXBUF each buffer must hold the 12-byte header/,
    attack: (raw, _d, s) => {
      raw.writeDesc(0, { addr: s, len: 8, flags: W, next: 0 });
      raw.publish(0);
    },
  },
  {
    name: 'readable descriptor after a writable one',
    ring: 0,
    features: BASIC,
    reason: /is device-readable but follows a device-writable descriptor/,
    attack: (raw, _d, s) => {
      raw.writeDesc(0, { addr: s, len: 64, flags: W | N, next: 1 });
      raw.writeDesc(1, { addr: s + 64, len: 64, flags: 0, next: 0 });
      raw.publish(0);
    },
  },
];

/** Guest memory outside the rings, to compare before and after: the device may write nothing there. */
function snapshotOutsideRings(d: Driver): { ranges: [number, number][]; bytes: Buffer } {
  const ranges = [...d.rx, ...d.tx].map((q) => [q.layout.desc, q.layout.device + 6 + 8 * q.size] as [number, number]);
  const all = Buffer.from(byteView(d.mem.memory, BASE, MEM));
  for (const [a, b] of ranges) all.fill(0, a - BASE, b - BASE);
  return { ranges, bytes: all };
}

async function stillServes(dev: DeviceRig, nonce: number): Promise<void> {
  const d = await connectDriver(dev.socket, { features: BASIC, size: RING, memBytes: 1 << 20 });
  try {
    dev.wire.drain();
    sendFrame(d, testFrame(nonce, 80), 1);
    for (;;) {
      const f = await dev.wire.recv(5000);
      if (frameNonce(f) === nonce) break;
    }
    assert.equal((await waitUsed(d.tx[0]!, 1)).length, 1);
  } finally {
    await d.close();
  }
}

for (const engine of ['io_uring', 'linux-aio'] as EngineName[]) {
  test(`${engine}: hostile rings break only their ring, with the reason; no stray writes; the device keeps serving`, { skip }, async (t) => {
    const dev = await startDevice({ engine, batch: 8 });
    try {
      for (const [k, c] of CASES.entries()) {
        await t.test(c.name, async () => {
          const d = await connectDriver(dev.socket, { features: c.features, size: RING, memBytes: MEM });
          try {
            const q = c.ring === 0 ? d.rx[0]! : d.tx[0]!;
            const raw = new RawSplitRing(d.mem.memory, q.layout);
            const scratch = d.arena.alloc(4096, 64);
            byteView(d.mem.memory, scratch, 4096).fill(0x5a);
            // Every byte outside the rings gets a canary, so any stray device write shows up.
            const canaryFrom = d.arena.alloc(16, 16);
            byteView(d.mem.memory, canaryFrom, END - canaryFrom).fill(0xc3);
            c.attack(raw, d, scratch);
            const before = snapshotOutsideRings(d);
            const logsBefore = dev.logs.length;
            d.kicks[c.ring]!.signal();
            if (c.ring === 0) dev.wire.send(testFrame(0xbad0 + k, 200, Uint8Array.from([2, 0x76, 0x6e, 0x62, 0, 1])));
            const err = await d.errs[c.ring]!.wait(5000);
            assert.ok(err > 0n, 'the ring\'s err eventfd was signalled');
            const status = await d.session.getStatus();
            assert.ok(status & VIRTIO_STATUS.DEVICE_NEEDS_RESET, `status 0x${status.toString(16)} has DEVICE_NEEDS_RESET`);
            const line = dev.logs.slice(logsBefore).find((l) => l.includes(`ring ${c.ring} broken`));
            assert.ok(line && c.reason.test(line), `log names the reason: ${line}`);
            assert.equal(raw.usedIdx(), 0, 'no used entry for a broken chain');
            await sleep(50);
            const after = snapshotOutsideRings(d);
            assert.ok(after.bytes.equals(before.bytes), 'guest memory outside the rings is untouched');
          } finally {
            await d.close();
          }
          await stillServes(dev, 0xc000 + k);
        });
      }
    } finally {
      await dev.close();
    }
  });
}
