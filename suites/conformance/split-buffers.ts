// S1–S5: what a device does with the buffers it is given: never writes readable ones or the
// descriptor tables, assumes no layout, sets used.len right and writes what it claims (virtio
// v1.2-cs01 §2.7, and §2.8 where the same rule holds for packed rings).
import { MemoryGuard, describeChanges } from '../../harness/conform/guard.ts';
import { firstDiff, hex, inFrame, nonce, outFrame } from '../../harness/conform/packets.ts';
import type { Rig } from '../../harness/conform/rig-types.ts';
import type { Elem, UsedEntry } from '../../harness/conform/split-lane.ts';
import { fail, pass, warn, type Check, type CheckContext } from '../../harness/conform/types.ts';
import { sleep } from '../../harness/conform/wait.ts';
import { F, has } from '../../harness/virtio/features.ts';
import { VIRTQ_DESC_F_INDIRECT } from '../../harness/virtio/layout.ts';
import {
  HDR,
  USE_MS,
  V1,
  captured,
  formats,
  laneOf,
  plural,
  postRx,
  send,
  txBuffer,
  txPieces,
  v1,
  type RxBuf,
} from './common.ts';

const S1: Check = {
  id: 'S1',
  group: 'S',
  section: '2.7.5.1, 2.8.15',
  level: 'MUST',
  title: 'Never write device-readable buffers',
  // Its RX buffers lack WRITE on purpose: a len for them is this check's finding, not S5's.
  owns: ['S5'],
  needs: {},
  async run(ctx) {
    const seen: string[] = [];
    const bad: string[] = [];
    for (const kind of formats(ctx)) {
      const rig = await ctx.open({ features: kind === 'packed' ? v1(F.F_RING_PACKED) : V1 });
      const guard = new MemoryGuard(rig.mem);
      const chains: Elem[][] = [];
      for (let k = 0; k < 8; k++) {
        const elems = txPieces(rig, outFrame(nonce(), 60 + 150 * k), k % 2 ? [HDR, 20] : [HDR]);
        elems.forEach((e, j) => guard.label(`TX buffer ${k} piece ${j}`, e.addr, e.len));
        chains.push(elems);
      }
      guard.arm();
      const lane = laneOf(rig, 1);
      for (const c of chains) lane.add(c);
      lane.kick();
      const used = await lane.waitUsed(chains.length, USE_MS);
      const txChanges = guard.changes().filter((c) => c.where.startsWith('TX buffer'));
      if (txChanges.length) bad.push(`${kind}: ${describeChanges(txChanges)}`);
      seen.push(`${kind}: ${used.length}/${chains.length} TX chains used, their ${chains.flat().length} readable pieces unchanged`);
      if (kind === 'split' && ctx.wire) {
        // A buffer with no device-writable part offered on the RX ring: nothing may be written into it.
        const rb = rig.buffer(2048, 0xa5);
        const g2 = new MemoryGuard(rig.mem).label('device-readable buffer on the RX ring', rb, 2048).arm();
        const rxl = laneOf(rig, 0);
        rxl.add([{ addr: rb, len: 2048 }]);
        postRx(rig, 2, 2048);
        for (let k = 0; k < 2; k++) ctx.wire.inject(inFrame(nonce(), 200));
        await rxl.waitUsed(2, 600);
        const ch = g2.changes().filter((c) => c.where.startsWith('device-readable'));
        if (ch.length) bad.push(`split RX ring: a 2048-byte buffer without VIRTQ_DESC_F_WRITE was written: ${describeChanges(ch)}`);
        else seen.push('split: a device-readable buffer posted on the RX ring was left untouched');
      }
      await rig.close();
    }
    if (bad.length) return fail(`expected device-readable buffers unchanged; observed ${bad.join('; ')}`);
    return pass(seen.join('; '));
  },
};

const S2: Check = {
  id: 'S2',
  group: 'S',
  section: '2.7.5.1',
  level: 'MUST',
  title: 'Never write the descriptor table or indirect tables',
  rawRings: true,
  needs: {},
  async run(ctx) {
    const indirect = has(ctx.offered, F.F_INDIRECT_DESC);
    const rig = await ctx.open({ features: indirect ? v1(F.F_INDIRECT_DESC) : V1 });
    const guard = new MemoryGuard(rig.mem);
    for (const q of rig.queues) guard.label(`descriptor table of ring ${q.index}`, q.layout.desc, q.size * 16);
    const tx = rig.splitLane(1);
    const rx = rig.splitLane(0);
    const tables: { addr: number; len: number }[] = [];
    const txHeads: (() => number)[] = [];
    for (let k = 0; k < 8; k++) {
      const elems = txPieces(rig, outFrame(nonce(), 100), [HDR]);
      if (indirect && k % 2) {
        const t = tx.indirectTable(elems);
        tables.push(t);
        guard.label(`TX indirect table ${k}`, t.addr, t.len);
        txHeads.push(() => tx.writeChain([{ addr: t.addr, len: t.len, flags: VIRTQ_DESC_F_INDIRECT }]));
      } else txHeads.push(() => tx.writeChain(elems));
    }
    const rxHeads: number[] = [];
    for (let k = 0; k < 8; k++) {
      const elems: Elem[] = [
        { addr: rig.buffer(HDR), len: HDR, write: true },
        { addr: rig.buffer(2048), len: 2048, write: true },
      ];
      if (indirect && k % 2) {
        const t = rx.indirectTable(elems);
        guard.label(`RX indirect table ${k}`, t.addr, t.len);
        rxHeads.push(rx.writeChain([{ addr: t.addr, len: t.len, flags: VIRTQ_DESC_F_INDIRECT }]));
      } else rxHeads.push(rx.writeChain(elems));
    }
    const heads = txHeads.map((f) => f());
    guard.arm();
    const snapTables = (): string[] => guard.changes().filter((c) => /descriptor table|indirect table/.test(c.where)).map((c) => describeChanges([c]));
    rx.publishMany(rxHeads);
    rx.kick();
    tx.publishMany(heads);
    tx.kick();
    if (ctx.wire) for (let k = 0; k < 8; k++) ctx.wire.inject(inFrame(nonce(), 300));
    // Sample while the device works, so a write that is later undone is caught too.
    const transient = new Set<string>();
    const deadline = Date.now() + USE_MS;
    while (Date.now() < deadline && (tx.returned.length < 8 || (ctx.wire && rx.returned.length < 8))) {
      tx.takeUsed();
      rx.takeUsed();
      for (const c of snapTables()) transient.add(c);
      await sleep(2);
    }
    const final = snapTables();
    const what = `${plural(tx.returned.length, 'TX chain')} and ${plural(rx.returned.length, 'RX chain')} used (${indirect ? 'half through indirect tables' : 'direct descriptors; INDIRECT_DESC not offered'})`;
    if (final.length || transient.size) return fail(`expected descriptor and indirect tables never written; observed ${[...new Set([...final, ...transient])].slice(0, 4).join('; ')} (${what})`);
    return pass(`${what}; tables sampled during and after: unchanged`);
  },
};

interface Layout {
  name: string;
  pieces: number[];
}

const TX_LAYOUTS: Layout[] = [
  { name: 'header in 12 one-byte descriptors', pieces: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1] },
  { name: 'header and frame in one descriptor', pieces: [] },
  { name: 'header, then the frame in three descriptors', pieces: [HDR, 40, 40] },
  { name: 'header split 5+7, the 7 sharing a descriptor with the frame start', pieces: [5, 30] },
];
const RX_LAYOUTS: { name: string; sizes: number[] }[] = [
  { name: 'one 2048-byte descriptor', sizes: [2048] },
  { name: '12-byte header descriptor + 2048-byte data descriptor', sizes: [HDR, 2048] },
  { name: '4 + 8 + 2048 bytes', sizes: [4, 8, 2048] },
];

const S3: Check = {
  id: 'S3',
  group: 'S',
  section: '2.7.4.1',
  level: 'MUST',
  title: 'No assumptions about descriptor layout',
  needs: { wire: 'both' },
  async run(ctx) {
    const wire = ctx.wire!;
    const rig = await ctx.open({ features: V1 });
    const bad: string[] = [];
    const good: string[] = [];
    for (const l of TX_LAYOUTS) {
      const n = nonce();
      const frame = outFrame(n, 142);
      const elems = txPieces(rig, frame, l.pieces);
      wire.drain();
      send(rig, elems);
      const got = await captured(wire, n);
      if (!got) bad.push(`TX ${l.name}: frame never reached the far end`);
      else if (Buffer.compare(Buffer.from(got), Buffer.from(frame)) !== 0) bad.push(`TX ${l.name}: ${firstDiff(frame, got)}`);
      else good.push(`TX ${l.name}`);
    }
    for (const l of RX_LAYOUTS) {
      const lane = laneOf(rig, 0);
      const elems: Elem[] = l.sizes.map((s) => ({ addr: rig.buffer(s, 0xa5), len: s, write: true }));
      const id = lane.add(elems);
      lane.kick();
      const frame = inFrame(nonce(), 200);
      wire.inject(frame);
      const u = await lane.waitFor(id, USE_MS);
      if (!u) {
        bad.push(`RX ${l.name}: buffer not used within ${USE_MS} ms`);
        continue;
      }
      const all = Buffer.concat(elems.map((e) => Buffer.from(rig.bytes(e.addr, e.len))));
      const data = all.subarray(HDR, HDR + frame.length);
      if (Buffer.compare(data, Buffer.from(frame)) !== 0) bad.push(`RX ${l.name}: ${firstDiff(frame, data)}`);
      else good.push(`RX ${l.name}`);
    }
    if (bad.length) return fail(`expected the same frame whatever the descriptor layout; observed ${bad.join('; ')}`);
    return pass(`frames intact for ${good.join(', ')}`);
  },
};

/** Post RX buffers pre-filled with a canary, inject one frame, copy the buffer the instant used.idx moves. */
async function receiveInto(rig: Rig, ctx: CheckContext, canary: number, frameLen: number): Promise<{ used?: UsedEntry; copy?: Uint8Array; buf: RxBuf }> {
  const [buf] = postRx(rig, 1, 2048, canary);
  ctx.wire!.inject(inFrame(nonce(), frameLen));
  const lane = laneOf(rig, 0);
  const deadline = Date.now() + USE_MS;
  while (Date.now() < deadline) {
    const got = lane.takeUsed();
    // Copy in the same tick that saw the entry: len and data must already be there (§2.7.8.2).
    const used = got.find((u) => u.id === buf.id);
    if (used) return { used, copy: rig.bytes(buf.addr, Math.min(Math.max(used.len, 1), buf.len)).slice(), buf };
    await sleep(0);
  }
  return { buf };
}

const S4: Check = {
  id: 'S4',
  group: 'S',
  section: '2.7.8.2',
  level: 'MUST',
  title: 'len set, and at least len bytes written, before used.idx',
  needs: { wire: 'inject' },
  async run(ctx) {
    const configs: [string, bigint][] = [['VERSION_1', V1]];
    if (has(ctx.offered, F.NET_F_MRG_RXBUF)) configs.push(['VERSION_1+MRG_RXBUF', v1(F.NET_F_MRG_RXBUF)]);
    const bad: string[] = [];
    const good: string[] = [];
    for (const [label, features] of configs) {
      const rig = await ctx.open({ features });
      // Two buffers, two canaries: a byte below len still holding its canary in both was not written.
      const a = await receiveInto(rig, ctx, 0xa5, 150);
      const b = await receiveInto(rig, ctx, 0x5a, 150);
      await rig.close();
      if (!a.used || !b.used || !a.copy || !b.copy) {
        bad.push(`${label}: RX buffer not used within ${USE_MS} ms`);
        continue;
      }
      if (a.used.len === 0 || b.used.len === 0) {
        bad.push(`${label}: used.len was 0 when used.idx moved (expected ${HDR + 150})`);
        continue;
      }
      const unwritten: number[] = [];
      const n = Math.min(a.used.len, b.used.len, a.copy.length, b.copy.length);
      for (let i = 0; i < n; i++) if (a.copy[i] === 0xa5 && b.copy[i] === 0x5a) unwritten.push(i);
      if (a.used.len > a.buf.len) bad.push(`${label}: used.len ${a.used.len} exceeds the ${a.buf.len}-byte buffer`);
      if (unwritten.length) {
        bad.push(`${label}: used.len ${a.used.len} but ${plural(unwritten.length, 'byte')} below it never written (offsets ${ranges(unwritten)}; header as read: ${hex(a.copy.subarray(0, HDR))})`);
      } else good.push(`${label}: used.len ${a.used.len}, all ${a.used.len} bytes written when used.idx moved`);
    }
    if (bad.length) return fail(`expected len set and ≥ len bytes written before used.idx; observed ${bad.join('; ')}`);
    return pass(good.join('; '));
  },
};

function ranges(xs: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j] + 1) j++;
    out.push(i === j ? `${xs[i]}` : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return out.slice(0, 6).join(',') + (out.length > 6 ? ',…' : '');
}

const S5: Check = {
  id: 'S5',
  group: 'S',
  section: '2.7.8',
  level: 'MUST',
  title: 'used.len = bytes written (RX header+frame, TX 0)',
  needs: {},
  async run(ctx) {
    const rig = await ctx.open({ features: V1 });
    const over: string[] = [];
    const under: string[] = [];
    const ok: string[] = [];
    for (const size of [60, 300, 1400]) {
      const id = send(rig, [txBuffer(rig, outFrame(nonce(), size))]);
      const u = await laneOf(rig, 1).waitFor(id, USE_MS);
      if (!u) over.push(`TX ${size}-byte frame: not used within ${USE_MS} ms`);
      else if (u.len > 0) over.push(`TX ${size}-byte frame: len ${u.len}, expected 0 (the device writes nothing into a TX chain)`);
      else ok.push(`TX ${size}: 0`);
    }
    if (ctx.wire) {
      for (const size of [60, 300, 1400]) {
        const [buf] = postRx(rig, 1, 2048);
        ctx.wire.inject(inFrame(nonce(), size));
        const u = await laneOf(rig, 0).waitFor(buf.id, USE_MS);
        const want = HDR + size;
        if (!u) over.push(`RX ${size}-byte frame: not used within ${USE_MS} ms`);
        else if (u.len > want) over.push(`RX ${size}-byte frame: len ${u.len}, expected ${want} (header + frame)`);
        else if (u.len < want) under.push(`RX ${size}-byte frame: len ${u.len}, expected ${want}`);
        else ok.push(`RX ${size}: ${u.len}`);
      }
    }
    if (over.length) return fail(`expected used.len = bytes written; observed ${[...over, ...under].join('; ')}`);
    if (under.length) return warn(`expected used.len = bytes written; observed underestimates (tolerated by the note in §2.7.8.2, but len is defined as the bytes written): ${under.join('; ')}`);
    return pass(`used.len exact: ${ok.join(', ')}${ctx.wire ? '' : ' (RX not tested: no wire)'}`);
  },
};

export const BUFFER_CHECKS: Check[] = [S1, S2, S3, S4, S5];
