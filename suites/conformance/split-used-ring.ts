// S6–S9: the used ring and chain walking: ids and single returns, used.idx free-running, nothing
// consumed beyond avail.idx, chains followed in NEXT order (virtio v1.2-cs01 §2.7, §2.8).
import { firstDiff, inFrame, nonce, nonceOf, outFrame } from '../../harness/conform/packets.ts';
import type { Rig } from '../../harness/conform/rig-types.ts';
import type { SplitLane, UsedEntry } from '../../harness/conform/split-lane.ts';
import { fail, pass, type Check, type Verdict } from '../../harness/conform/types.ts';
import { sleep } from '../../harness/conform/wait.ts';
import { F } from '../../harness/virtio/features.ts';
import { HDR, QUIET_MS, USE_MS, V1, captured, formats, laneOf, postRx, txBuffer, txPieces, v1 } from './common.ts';

const S6: Check = {
  id: 'S6',
  group: 'S',
  section: '2.7.8, 2.8.6',
  level: 'MUST',
  title: 'Used id names the buffer (chain head / Buffer ID); each returned exactly once',
  needs: {},
  async run(ctx) {
    const problems: string[] = [];
    const summary: string[] = [];
    for (const kind of formats(ctx)) {
      const rig = await ctx.open({ features: kind === 'packed' ? v1(F.F_RING_PACKED) : V1 });
      const tx = laneOf(rig, 1);
      const rx = laneOf(rig, 0);
      // Chains of 1..3 descriptors, so a device naming a non-head descriptor is caught.
      const txIds = new Set<number>();
      for (let k = 0; k < 24; k++) txIds.add(tx.add(txPieces(rig, outFrame(nonce(), 100), k % 3 === 0 ? [] : k % 3 === 1 ? [HDR] : [HDR, 30])));
      tx.kick();
      let rxIds = new Set<number>();
      if (ctx.wire) {
        rxIds = new Set(postRx(rig, 12, 2048).map((b) => b.id));
        for (let k = 0; k < 12; k++) ctx.wire.inject(inFrame(nonce(), 120));
      }
      await tx.waitUsed(24, USE_MS);
      if (ctx.wire) await rx.waitUsed(12, USE_MS);
      await sleep(QUIET_MS); // late duplicates
      tx.takeUsed();
      rx.takeUsed();
      const missing = judgeOnce(`${kind} TX`, tx.returned, txIds, problems) + (ctx.wire ? judgeOnce(`${kind} RX`, rx.returned, rxIds, problems) : 0);
      summary.push(`${kind}: ${tx.returned.length} TX entries for 24 buffers of 1–3 descriptors${ctx.wire ? `, ${rx.returned.length} RX entries for 12 frames` : ''}${missing ? ` (${missing} not returned within ${USE_MS} ms)` : ''}`);
      await rig.close();
    }
    if (problems.length) return fail(`expected each used entry to name a buffer in flight, once; observed ${problems.slice(0, 4).join('; ')}`);
    return pass(`${summary.join('; ')}: every id named a buffer made available, none twice`);
  },
};

/** Adds problems for ids that were never made available or came back twice; returns how many never came back. */
function judgeOnce(ring: string, entries: readonly UsedEntry[], valid: Set<number>, problems: string[]): number {
  const count = new Map<number, number>();
  for (const e of entries) count.set(e.id, (count.get(e.id) ?? 0) + 1);
  for (const [id, c] of count) {
    if (!valid.has(id)) problems.push(`${ring} used entry names id ${id}, which no buffer made available carries (a non-head descriptor?)`);
    else if (c > 1) problems.push(`${ring} buffer ${id} returned ${c} times`);
  }
  return [...valid].filter((id) => !count.has(id)).length;
}

const S7: Check = {
  id: 'S7',
  group: 'S',
  section: '2.7.8',
  level: 'MUST',
  title: 'used.idx is a free-running u16 (wraps at 2^16, not at the ring size)',
  needs: {},
  async run(ctx) {
    const BASE = 0xfff0;
    const rig = await ctx.open({ features: V1, base: BASE });
    const tx = rig.splitLane(1);
    return usedIdxWalk(rig, tx, BASE);
  },
};

/** Batches of 8 TX buffers from base; used.idx must count on through 0xffff. */
async function usedIdxWalk(rig: Rig, tx: SplitLane, BASE: number): Promise<Verdict> {
  const seen: string[] = [];
  let done = 0;
  for (let batch = 0; batch < 5; batch++) {
    const ids: number[] = [];
    for (let k = 0; k < 8; k++) ids.push(tx.add([txBuffer(rig, outFrame(nonce(), 80))]));
    tx.kick();
    const got = await tx.waitUsed(8, USE_MS);
    const idx = rig.queues[1].split!.usedIdx();
    if (tx.idxAnomalies.length) {
      // The lane refused the move: say what was made available and what the device published.
      const want = (BASE + done + 8) & 0xffff;
      return fail(
        `expected used.idx to count on from 0x${BASE.toString(16)} through 0xffff to 0; observed, in batch ${batch} (${done} buffers used before it, ` +
          `8 more made available, avail.idx 0x${tx.nextAvail.toString(16)}), the device published used.idx 0x${idx.toString(16)} where 0x${want.toString(16)} was due: ${tx.idxAnomalies[0]}`,
      );
    }
    done += got.length;
    const want = (BASE + done) & 0xffff;
    if (got.length < 8) return fail(`after ${done} buffers from base 0x${BASE.toString(16)}: ${8 - got.length} of batch ${batch} not used within ${USE_MS} ms (used.idx 0x${idx.toString(16)}, expected 0x${((BASE + done + 8 - got.length) & 0xffff).toString(16)})`);
    if (idx !== want) return fail(`expected used.idx 0x${want.toString(16)} after ${done} buffers from 0x${BASE.toString(16)}; observed 0x${idx.toString(16)}`);
    const wrongIds = got.filter((u, i) => u.id !== ids[i] && !ids.includes(u.id));
    if (wrongIds.length) return fail(`expected used ids naming the chains made available; observed ${wrongIds.map((u) => u.id).join(',')} after the wrap`);
    seen.push(`0x${idx.toString(16)}`);
  }
  return pass(`base 0x${BASE.toString(16)}: used.idx after each batch of 8 = ${seen.join(' → ')} (wrapped through 0xffff, ring of ${rig.size})`);
}

const S8: Check = {
  id: 'S8',
  group: 'S',
  section: '2.7.6 (derived)',
  level: 'MUST',
  title: 'Only entries below avail.idx are consumed',
  needs: {},
  async run(ctx) {
    const rig = await ctx.open({ features: V1 });
    const tx = rig.splitLane(1);
    const real: number[] = [];
    for (let k = 0; k < 4; k++) {
      const n = nonce();
            real.push(tx.add([txBuffer(rig, outFrame(n, 90))]));
    }
    // Poison: complete, valid chains in the next ring slots, never published by avail.idx.
    const poison: number[] = [];
    const poisonNonces: number[] = [];
    for (let k = 0; k < 8; k++) {
      const n = nonce();
      poisonNonces.push(n);
      const h = tx.writeChain([txBuffer(rig, outFrame(n, 90))]);
      tx.raw.setAvailRing(tx.nextAvail + k, h);
      poison.push(h);
    }
    ctx.wire?.drain();
    tx.kick();
    await tx.waitUsed(4, USE_MS);
    await sleep(QUIET_MS);
    tx.takeUsed();
    const problems: string[] = [];
    const poisoned = tx.returned.filter((u) => poison.includes(u.id));
    if (poisoned.length) problems.push(`TX: chains ${poisoned.map((u) => u.id).join(',')} from slots beyond avail.idx were used`);
    if (ctx.wire) {
      const frames = await ctx.wire.collect(50);
      const leaked = frames.filter((f) => poisonNonces.includes(nonceOf(f) ?? -1));
      if (leaked.length) problems.push(`${leaked.length} poisoned frame(s) transmitted`);
    }
    let rxNote = '';
    if (ctx.wire) {
      const rx = rig.splitLane(0);
      const posted = postRx(rig, 2, 2048);
      const traps: number[] = [];
      for (let k = 0; k < 6; k++) {
        const addr = rig.buffer(2048, 0xa5);
        traps.push(addr);
        rx.raw.setAvailRing(rx.nextAvail + k, rx.writeChain([{ addr, len: 2048, write: true }]));
      }
      for (let k = 0; k < 6; k++) ctx.wire.inject(inFrame(nonce(), 100));
      await rx.waitUsed(2, USE_MS);
      await sleep(QUIET_MS);
      rx.takeUsed();
      const written = traps.filter((a) => rig.bytes(a, 2048).some((x) => x !== 0xa5)).length;
      if (written) problems.push(`RX: ${written} buffer(s) in slots beyond avail.idx were written`);
      const extra = rx.returned.filter((u) => !posted.some((p) => p.id === u.id));
      if (extra.length) problems.push(`RX: ${extra.length} used entr(ies) for buffers never made available`);
      rxNote = `; RX: 2 buffers available, 6 poisoned slots, 6 frames injected → ${rx.returned.length} used, poisoned buffers untouched`;
    }
    if (problems.length) return fail(`expected only the ${real.length} published entries consumed; observed ${problems.join('; ')}`);
    return pass(`TX: 4 published, 8 valid chains in the slots beyond avail.idx → ${tx.returned.length} used, none poisoned${rxNote}`);
  },
};

const S9: Check = {
  id: 'S9',
  group: 'S',
  section: '2.8.18',
  level: 'MUST',
  title: 'Chain used in NEXT order, honouring each descriptor len',
  needs: { wire: 'capture' },
  async run(ctx) {
    const wire = ctx.wire!;
    const results: string[] = [];
    const bad: string[] = [];
    for (const kind of formats(ctx)) {
      const rig = await ctx.open({ features: kind === 'packed' ? v1(F.F_RING_PACKED) : V1 });
      const n = nonce();
      const frame = outFrame(n, 200);
      // Four pieces, each inside a larger junk-filled area: only `len` bytes belong to the frame.
      const pieces = txPieces(rig, frame, [HDR, 50, 70]).map((e) => {
        const area = rig.buffer(e.len + 32, 0xee);
        rig.bytes(area, e.len).set(rig.bytes(e.addr, e.len));
        return { addr: area, len: e.len };
      });
      wire.drain();
      if (kind === 'split') {
        // Scrambled table positions: the chain runs 9 → 3 → 12 → 6.
        const lane = rig.splitLane(1);
        lane.publish(lane.writeChainAt([9, 3, 12, 6], pieces));
        lane.kick();
      } else {
        rig.packedLane(1).add(pieces);
        rig.packedLane(1).kick();
      }
      const got = await captured(wire, n);
      await rig.close();
      if (!got) bad.push(`${kind}: frame never reached the far end`);
      else if (Buffer.compare(Buffer.from(got), Buffer.from(frame)) !== 0) bad.push(`${kind}: ${firstDiff(frame, got)}`);
      else results.push(kind === 'split' ? 'split chain 9→3→12→6' : 'packed list of 4');
    }
    if (bad.length) return fail(`expected the frame = the pieces concatenated in NEXT order, each cut at its len; observed ${bad.join('; ')}`);
    return pass(`${results.join(' and ')}: frame at the far end identical to the pieces in order, no junk beyond any len`);
  },
};

export const USED_RING_CHECKS: Check[] = [S6, S7, S8, S9];
