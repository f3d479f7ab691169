// P1–P7: packed virtqueues (virtio v1.2-cs01 §2.8). vhost-net has no packed rings.
import { DeviceRejectedError } from '../../harness/vhost/session.ts';
import type { PackedLane } from '../../harness/conform/packed-lane.ts';
import { inFrame, nonce, nonceOf, outFrame } from '../../harness/conform/packets.ts';
import type { Rig } from '../../harness/conform/rig-types.ts';
import { fail, pass, unmet, type Check, type CheckContext } from '../../harness/conform/types.ts';
import { sleep } from '../../harness/conform/wait.ts';
import { F, has } from '../../harness/virtio/features.ts';
import { RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_DISABLE, RING_EVENT_FLAGS_ENABLE, VIRTQ_DESC_F_WRITE, packedIsUsed } from '../../harness/virtio/layout.ts';
import { decodeNetHdr } from '../../harness/virtio/net-header.ts';
import { HDR, QUIET_MS, USE_MS, captured, plural, txBuffer, txPieces, v1 } from './common.ts';

const PACKED = v1(F.F_RING_PACKED);
const NO_VN = { 'vhost-net': 'vhost-net has no packed rings' } as const;
const hx = (n: number) => `0x${n.toString(16)}`;

/** The raw descriptor where the lane expects the next used one, for evidence. */
function atUsedPos(lane: PackedLane): string {
  const { pos, wrap } = lane.usedState;
  const d = lane.raw.readDesc(pos);
  return `position ${pos} (used wrap counter ${wrap}) holds id ${d.id}, len ${d.len}, flags ${hx(d.flags)}`;
}

const P1: Check = {
  id: 'P1',
  group: 'P',
  section: '2.8.1',
  level: 'MUST',
  title: 'Used descriptors carry AVAIL = USED = the device wrap counter, across wraps',
  needs: { ring: 'packed' },
  cannot: NO_VN,
  async run(ctx) {
    let size = 255;
    let rig: Rig;
    let note = '';
    try {
      rig = await ctx.open({ features: PACKED, size });
    } catch (err) {
      if (!(err instanceof DeviceRejectedError)) throw err;
      note = ` (the device refused a packed ring of 255 entries: ${err.message}; tested with 256)`;
      size = 256;
      rig = await ctx.open({ features: PACKED, size });
    }
    const lane = rig.packedLane(1);
    const buf = txBuffer(rig, outFrame(nonce(), 64));
    const TOTAL = 3 * size;
    let done = 0;
    let wraps = 0;
    let lastWrap = lane.usedState.wrap;
    while (done < TOTAL) {
      const batch = Math.min(32, TOTAL - done);
      for (let k = 0; k < batch; k++) lane.add([buf]);
      lane.kick();
      const got = await lane.waitUsed(batch, USE_MS);
      done += got.length;
      if (lane.usedState.wrap !== lastWrap) {
        wraps++;
        lastWrap = lane.usedState.wrap;
      }
      if (got.length < batch) {
        return fail(`expected a used descriptor with AVAIL = USED = ${lane.usedState.wrap} at the next position; after ${done} buffers and ${wraps} wraps, ${atUsedPos(lane)}${note}`);
      }
    }
    return pass(`${done} TX buffers through a packed ring of ${size}: ${wraps} wraps, every used descriptor had AVAIL = USED = the wrap counter of its lap${note}`);
  },
};

const P2: Check = {
  id: 'P2',
  group: 'P',
  section: '2.8.12',
  level: 'MUST',
  title: 'Ring-order processing; used descriptors at consecutive positions, skipping list lengths',
  needs: { ring: 'packed' },
  cannot: NO_VN,
  async run(ctx) {
    const rig = await ctx.open({ features: PACKED, size: 64 });
    const lane = rig.packedLane(1);
    const shapes = [[], [HDR, 20], [HDR], [], [HDR, 10, 10], [], [HDR], [HDR, 30]];
    const order: number[] = [];
    let descs = 0;
    for (let round = 0; round < 3; round++) {
      for (const s of shapes) {
        const elems = txPieces(rig, outFrame(nonce(), 100), s);
        descs += elems.length;
        order.push(lane.add(elems));
      }
      lane.kick();
      const got = await lane.waitUsed(shapes.length, USE_MS);
      if (got.length < shapes.length) {
        return fail(`expected the next used descriptor after skipping each list's length; round ${round}: ${got.length} of ${shapes.length} found, ${atUsedPos(lane)}${lane.anomalies.length ? `; ${lane.anomalies[0]}` : ''}`);
      }
    }
    if (lane.anomalies.length) return fail(`expected used descriptors where the list lengths put them; observed ${lane.anomalies.slice(0, 3).join('; ')}`);
    const ids = lane.returned.map((e) => e.id);
    const inOrder = ids.every((id, i) => id === order[i]);
    return pass(`${order.length} lists of 1–4 descriptors (${descs} descriptors, ring of 64, wrapping): each used descriptor at the position after the previous list${inOrder ? ', completed in ring order' : ` (completion order differs from ring order: ${ids.slice(0, 8).join(',')}…, allowed)`}`);
  },
};

const P3: Check = {
  id: 'P3',
  group: 'P',
  section: '2.8.15',
  level: 'MUST',
  title: 'A descriptor is used only after its AVAIL bit flips',
  needs: { ring: 'packed', wire: 'capture' },
  cannot: NO_VN,
  async run(ctx) {
    const wire = ctx.wire!;
    const SIZE = 8;
    const rig = await ctx.open({ features: PACKED, size: SIZE });
    const lane = rig.packedLane(1);
    // Lap 1: fill the ring once; every position then holds a used descriptor of lap 1 with a valid frame body.
    const lap1: number[] = [];
    for (let k = 0; k < SIZE; k++) {
      const n = nonce();
      lap1.push(n);
      lane.add([txBuffer(rig, outFrame(n, 80))]);
    }
    lane.kick();
    if ((await lane.waitUsed(SIZE, USE_MS)).length < SIZE) return fail(`expected the first lap of ${SIZE} buffers used; observed ${atUsedPos(lane)}`);
    await sleep(50);
    wire.drain();
    // Lap 2: publish 2; positions 2..7 keep their lap-1 (stale phase) descriptors; one more is written but its flags not flipped.
    const fresh = [nonce(), nonce()];
    for (const n of fresh) lane.add([txBuffer(rig, outFrame(n, 80))]);
    const heldNonce = nonce();
    const held = lane.addHeld([txBuffer(rig, outFrame(heldNonce, 80))], { hold: true });
    lane.kick();
    await lane.waitUsed(2, USE_MS);
    await sleep(QUIET_MS);
    lane.takeUsed();
    const frames = await wire.collect(50);
    const nonces = frames.map(nonceOf);
    const stale = lap1.filter((n) => nonces.includes(n));
    const problems: string[] = [];
    if (stale.length) problems.push(`${plural(stale.length, 'stale lap-1 descriptor')} transmitted again`);
    if (nonces.includes(heldNonce)) problems.push('a descriptor whose AVAIL bit was never flipped was transmitted');
    if (lane.returned.length > SIZE + 2) problems.push(`${lane.returned.length - SIZE - 2} extra used descriptor(s)`);
    if (problems.length) return fail(`expected only the 2 descriptors made available in lap 2 to be used; observed ${problems.join('; ')}`);
    // Sensitivity: flip the held descriptor's flags; now it must go.
    lane.publishFirst(held.first);
    lane.kick();
    const got = await captured(wire, heldNonce);
    return pass(`lap 2 on a ring of ${SIZE}: 2 published → ${lane.returned.length - SIZE} used; 5 stale lap-1 descriptors and 1 unflipped descriptor left alone${got ? '; after its flags were flipped the held one was transmitted' : ''}`);
  },
};

const P4: Check = {
  id: 'P4',
  group: 'P',
  section: '2.8.15',
  level: 'MUST',
  title: 'A descriptor is not changed after its USED bit is set',
  needs: { ring: 'packed' },
  cannot: NO_VN,
  async run(ctx) {
    const SIZE = 32;
    const rig = await ctx.open({ features: PACKED, size: SIZE });
    const lane = rig.packedLane(1);
    for (let k = 0; k < 8; k++) lane.add(txPieces(rig, outFrame(nonce(), 90), k % 2 ? [HDR] : []));
    lane.kick();
    await lane.waitUsed(8, USE_MS);
    const end = lane.usedState.pos;
    const ringBytes = () => rig.bytes(rig.queues[1].layout.desc, end * 16).slice();
    const snap = ringBytes();
    const changed = new Set<number>();
    // More traffic in the following positions while the used ones are watched.
    for (let k = 0; k < 8; k++) lane.add([txBuffer(rig, outFrame(nonce(), 90))]);
    lane.kick();
    const deadline = Date.now() + QUIET_MS;
    while (Date.now() < deadline) {
      lane.takeUsed();
      const now = ringBytes();
      for (let i = 0; i < snap.length; i++) if (now[i] !== snap[i]) changed.add(Math.floor(i / 16));
      await sleep(1);
    }
    if (changed.size) return fail(`expected used descriptors left as written until the driver reuses them; observed changes at ring positions ${[...changed].join(',')} while 8 later buffers were processed`);
    return pass(`${end} ring positions holding used descriptors (and skipped list members) unchanged while 8 more buffers were processed`);
  },
};

const P5: Check = {
  id: 'P5',
  group: 'P',
  section: '2.8.3-2.8.6',
  level: 'MUST',
  title: "Used descriptor: the last descriptor's Buffer ID, len = bytes written, WRITE iff written",
  needs: { ring: 'packed' },
  cannot: NO_VN,
  async run(ctx) {
    const rig = await ctx.open({ features: PACKED });
    const bad: string[] = [];
    const good: string[] = [];
    const tx = rig.packedLane(1);
    const txId = tx.add(txPieces(rig, outFrame(nonce(), 120), [HDR]), { leadingIds: 0x7777 });
    tx.kick();
    const tu = await tx.waitFor(txId, USE_MS);
    if (!tu) bad.push(`TX: no used descriptor naming Buffer ID ${txId} (the last descriptor's; the first carried 0x7777): ${atUsedPos(tx)}`);
    else if (tu.flags! & VIRTQ_DESC_F_WRITE) bad.push(`TX: used descriptor has WRITE set (flags ${hx(tu.flags!)}) though nothing was written`);
    else good.push(`TX: id ${txId}, WRITE clear`);
    if (ctx.wire) {
      const rx = rig.packedLane(0);
      const h = rig.buffer(HDR, 0xa5);
      const d = rig.buffer(2048, 0xa5);
      const rxId = rx.add([{ addr: h, len: HDR, write: true }, { addr: d, len: 2048, write: true }], { leadingIds: 0x6666 });
      rx.kick();
      const size = 300;
      ctx.wire.inject(inFrame(nonce(), size));
      const ru = await rx.waitFor(rxId, USE_MS);
      const want = HDR + size;
      if (!ru) bad.push(`RX: no used descriptor naming Buffer ID ${rxId}: ${atUsedPos(rx)}`);
      else if (!(ru.flags! & VIRTQ_DESC_F_WRITE)) bad.push(`RX: used descriptor lacks WRITE (flags ${hx(ru.flags!)}) though ${want} bytes were written`);
      else if (ru.len !== want) bad.push(`RX: len ${ru.len}, expected ${want} (header + frame)`);
      else good.push(`RX: id ${rxId}, WRITE set, len ${ru.len}`);
    }
    if (bad.length) return fail(`expected used descriptors with the list's last Buffer ID, len = bytes written, WRITE iff written; observed ${bad.join('; ')}`);
    return pass(good.join('; '));
  },
};

const P6: Check = {
  id: 'P6',
  group: 'P',
  section: '2.8.9',
  level: 'MUST',
  title: 'Multi-buffer packet: the first buffer is marked used last',
  needs: { ring: 'packed', features: [F.NET_F_MRG_RXBUF, F.F_RING_PACKED], wire: 'inject' },
  cannot: NO_VN,
  async run(ctx) {
    const rig = await ctx.open({ features: v1(F.F_RING_PACKED, F.NET_F_MRG_RXBUF) });
    const rx = rig.packedLane(0);
    const BUF = 256;
    const bufs: { id: number; addr: number }[] = [];
    for (let k = 0; k < 16; k++) {
      const addr = rig.buffer(BUF, 0xa5);
      bufs.push({ id: rx.add([{ addr, len: BUF, write: true }]), addr });
    }
    rx.kick();
    const first = rx.usedState;
    const frame = inFrame(nonce(), 1400);
    const parts = Math.ceil((HDR + frame.length) / BUF);
    ctx.wire!.inject(frame);
    // Watch positions first..first+parts-1. The driver polls only the first: the moment it shows
    // used, every other buffer of the packet must already be used. Later ones used before the first
    // is what the rule asks for.
    let samples = 0;
    let laterFirst = 0;
    let partial: string | undefined;
    const deadline = Date.now() + USE_MS;
    while (Date.now() < deadline) {
      samples++;
      const f0 = rx.raw.readDesc(first.pos).flags;
      const others: boolean[] = [];
      for (let k = 1; k < parts; k++) others.push(packedIsUsed(rx.raw.readDesc((first.pos + k) % rx.size).flags, first.wrap));
      if (packedIsUsed(f0, first.wrap)) {
        const missing = others.map((u, i) => (u ? -1 : first.pos + i + 1)).filter((p) => p >= 0);
        if (missing.length) partial = `position ${first.pos} (the first buffer) was used while position(s) ${missing.join(',')} of the same packet were not`;
        break;
      }
      if (others.some(Boolean)) laterFirst++;
    }
    if (partial) return fail(`expected the first buffer of a ${parts}-buffer packet marked used only after the others; observed ${partial}`);
    const got = await rx.waitUsed(parts, USE_MS);
    const hdr = decodeNetHdr(rig.bytes(bufs.find((b) => b.id === got[0]?.id)?.addr ?? bufs[0].addr, HDR));
    if (got.length < parts) return fail(`expected a ${frame.length}-byte frame over ${parts} buffers of ${BUF}; observed ${got.length} used descriptors (num_buffers ${hdr.numBuffers})`);
    return pass(`a ${frame.length}-byte frame over ${parts} RX buffers of ${BUF} (num_buffers ${hdr.numBuffers}): when the first buffer showed used, all ${parts} were (${samples} samples; ${laterFirst} saw later buffers used before the first, as the rule intends)`);
  },
};

/** Count notifications for TX buffers sent one at a time. */
async function callsFor(rig: Rig, lane: PackedLane, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let k = 0; k < count; k++) {
    const id = lane.add([txBuffer(rig, outFrame(nonce(), 80))]);
    lane.kick();
    await lane.waitFor(id, USE_MS);
    await sleep(30);
    out.push(rig.tx().takeCalls());
  }
  return out;
}

const P7: Check = {
  id: 'P7',
  group: 'P',
  section: '2.8.10, 2.8.14',
  level: 'SHOULD',
  title: 'Driver event suppression honoured (ENABLE/DISABLE/DESC); device area flags valid',
  needs: { ring: 'packed' },
  cannot: NO_VN,
  async run(ctx: CheckContext) {
    const bad: string[] = [];
    const good: string[] = [];
    const devFlags = new Set<number>();
    // Without EVENT_IDX: DISABLE then ENABLE.
    {
      const rig = await ctx.open({ features: PACKED });
      const lane = rig.packedLane(1);
      lane.raw.setDriverEvent(0, RING_EVENT_FLAGS_DISABLE);
      const off = await callsFor(rig, lane, 6);
      devFlags.add(rig.queues[1].packed!.deviceEvent().flags);
      lane.raw.setDriverEvent(0, RING_EVENT_FLAGS_ENABLE);
      const on = await callsFor(rig, lane, 2);
      devFlags.add(rig.queues[1].packed!.deviceEvent().flags);
      await rig.close();
      const offCalls = off.reduce((a, b) => a + b, 0);
      if (offCalls) bad.push(`DISABLE: ${offCalls} notification(s) for 6 used buffers`);
      else good.push('DISABLE: 6 used buffers, no notification');
      if (on.some((c) => c === 0)) bad.push(`ENABLE: notifications per used buffer ${on.join(',')} (expected one each)`);
      else good.push(`ENABLE: notified for each used buffer`);
    }
    if (has(ctx.offered, F.F_EVENT_IDX)) {
      const rig = await ctx.open({ features: v1(F.F_RING_PACKED, F.F_EVENT_IDX) });
      const lane = rig.packedLane(1);
      const target = 3; // notify when the descriptor at position 3 (wrap 1) is used
      lane.raw.setDriverEvent(target | (1 << 15), RING_EVENT_FLAGS_DESC);
      const calls = await callsFor(rig, lane, 6);
      devFlags.add(rig.queues[1].packed!.deviceEvent().flags);
      await rig.close();
      const early = calls.slice(0, target).reduce((a, b) => a + b, 0) + calls.slice(target + 1).reduce((a, b) => a + b, 0);
      if (calls[target] === 0) bad.push(`DESC at position ${target}: no notification when it was used (per buffer: ${calls.join(',')})`);
      else good.push(`DESC at position ${target}: notified when it was used`);
      if (early) bad.push(`DESC at position ${target}: ${early} notification(s) for other positions (per buffer: ${calls.join(',')})`);
    }
    const wrongDev = [...devFlags].filter((f) => (f & ~0x3) !== 0 || f === 3 || (f === RING_EVENT_FLAGS_DESC && !has(ctx.offered, F.F_EVENT_IDX)));
    if (wrongDev.length) bad.push(`device event suppression flags ${wrongDev.map(hx).join(',')} (reserved bits must be 0; 3 is reserved)`);
    else good.push(`device event suppression flags seen: {${[...devFlags].map(hx).join(',')}}`);
    if (bad.length) return unmet('SHOULD', `expected notifications to follow the driver event suppression structure; observed ${bad.join('; ')}`);
    return pass(good.join('; '));
  },
};

export const PACKED_CHECKS: Check[] = [P1, P2, P3, P4, P5, P6, P7];
