// O1–O2: VIRTIO_F_IN_ORDER (virtio v1.2-cs01 §6.2, §2.7.9, §2.8.8). With IN_ORDER a device may
// return a batch with one entry naming the batch's last buffer, written where the first buffer's
// entry would go; the readers here follow the batch rules instead of the plain lanes.
import { inFrame, nonce, outFrame } from '../../harness/conform/packets.ts';
import type { Rig } from '../../harness/conform/rig-types.ts';
import type { Elem } from '../../harness/conform/split-lane.ts';
import { fail, pass, skip, type Check, type CheckContext } from '../../harness/conform/types.ts';
import { sleep } from '../../harness/conform/wait.ts';
import { F, has } from '../../harness/virtio/features.ts';
import { packedIsUsed } from '../../harness/virtio/layout.ts';
import { HDR, USE_MS, formats, txPieces, v1 } from './common.ts';

interface Posted {
  id: number;
  /** Ring slots (packed) the buffer occupies. */
  slots: number;
  /** Writable areas, for "fully used" checks. */
  writable: Elem[];
}

interface Batch {
  /** Where the entry was found: split used index, packed ring position. */
  at: number;
  id: number;
  len: number;
  /** Buffers the entry stands for, oldest first (the last is the one it names). */
  members: Posted[];
}

/** In-order reader: each entry retires every buffer up to the one it names (§2.7.9, §2.8.8). */
class InOrderReader {
  private readonly fifo: Posted[] = [];
  readonly batches: Batch[] = [];
  readonly problems: string[] = [];
  /** Entries naming a buffer an earlier entry already named: S6's business, skipped here. */
  readonly duplicates: string[] = [];
  private readonly named = new Set<number>();
  private seen: number;
  private pos = 0;
  private wrap = 1;

  constructor(
    private readonly rig: Rig,
    private readonly index: number,
  ) {
    this.seen = 0;
  }

  post(elems: Elem[]): number {
    const q = this.rig.queues[this.index];
    const id = q.kind === 'packed' ? this.rig.packedLane(this.index).add(elems) : this.rig.splitLane(this.index).add(elems);
    this.fifo.push({ id, slots: q.kind === 'packed' ? elems.length : 0, writable: elems.filter((e) => e.write) });
    return id;
  }

  get pending(): number {
    return this.fifo.length;
  }

  read(): void {
    const q = this.rig.queues[this.index];
    if (q.split) {
      const now = q.split.usedIdx();
      for (let guard = 0; this.seen !== now && guard < q.size; guard++) {
        const e = q.split.usedElem(this.seen);
        const k = this.fifo.findIndex((p) => p.id === e.id);
        if (k < 0) {
          const note = `used entry ${this.seen} names id ${e.id}, not a buffer in flight (in flight, oldest first: ${this.fifo.map((p) => p.id).slice(0, 6).join(',')})`;
          (this.named.has(e.id) ? this.duplicates : this.problems).push(note);
          this.seen = (this.seen + 1) & 0xffff;
          continue;
        }
        this.named.add(e.id);
        const members = this.fifo.splice(0, k + 1);
        const ahead = (now - this.seen) & 0xffff;
        if (members.length > ahead) this.problems.push(`entry ${this.seen} names id ${e.id}, standing for ${members.length} buffers, but used.idx is only ${ahead} ahead`);
        this.batches.push({ at: this.seen, id: e.id, len: e.len, members });
        this.seen = (this.seen + members.length) & 0xffff;
      }
      return;
    }
    const raw = q.packed!;
    for (let guard = 0; guard < q.size; guard++) {
      const d = raw.readDesc(this.pos);
      if (!packedIsUsed(d.flags, this.wrap)) return;
      const k = this.fifo.findIndex((p) => p.id === d.id);
      if (k < 0) {
        const note = `used descriptor at position ${this.pos} names Buffer ID ${d.id}, not in flight`;
        if (!this.named.has(d.id)) {
          this.problems.push(note);
          return;
        }
        // A second used descriptor for a buffer already returned: skip its one slot.
        this.duplicates.push(note);
        this.advance(1);
        continue;
      }
      this.named.add(d.id);
      const members = this.fifo.splice(0, k + 1);
      this.batches.push({ at: this.pos, id: d.id, len: d.len, members });
      this.advance(members.reduce((a, m) => a + m.slots, 0));
    }
  }

  private advance(n: number): void {
    this.pos += n;
    const size = this.rig.queues[this.index].size;
    if (this.pos >= size) {
      this.pos -= size;
      this.wrap ^= 1;
    }
  }

  async settle(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.fifo.length && Date.now() < deadline) {
      this.read();
      await sleep(1);
    }
    this.read();
  }
}

interface RunResult {
  kind: string;
  rig: Rig;
  tx: InOrderReader;
  rx?: InOrderReader;
  txOrder: number[];
}

/** 16 TX buffers published at once, and (with a wire) one mergeable frame over small RX buffers. */
async function inOrderRun(ctx: CheckContext, kind: 'split' | 'packed'): Promise<RunResult> {
  const mrg = has(ctx.offered, F.NET_F_MRG_RXBUF);
  const rig = await ctx.open({ features: v1(F.F_IN_ORDER, ...(kind === 'packed' ? [F.F_RING_PACKED] : []), ...(mrg ? [F.NET_F_MRG_RXBUF] : [])) });
  const tx = new InOrderReader(rig, 1);
  const txOrder: number[] = [];
  for (let k = 0; k < 16; k++) {
    const elems = txPieces(rig, outFrame(nonce(), 80), kind === 'packed' ? [] : k % 2 ? [HDR] : []);
    txOrder.push(tx.post(elems));
  }
  rig.tx().kick();
  let rx: InOrderReader | undefined;
  if (ctx.wire) {
    rx = new InOrderReader(rig, 0);
    const size = mrg ? 256 : 2048;
    for (let k = 0; k < 12; k++) rx.post([{ addr: rig.buffer(size, 0xa5), len: size, write: true }]);
    rig.rx().kick();
    ctx.wire.inject(inFrame(nonce(), mrg ? 1400 : 200));
    ctx.wire.inject(inFrame(nonce(), 200));
  }
  await tx.settle(USE_MS);
  if (rx) await rx.settle(400);
  // The run's readers live on; the rig closes with the check.
  return { kind, rig, tx, rx, txOrder };
}

const O1: Check = {
  id: 'O1',
  group: 'O',
  section: '6.2',
  level: 'MUST',
  title: 'IN_ORDER: buffers used in the order made available',
  rawRings: true,
  needs: { features: [F.F_IN_ORDER] },
  async run(ctx) {
    const bad: string[] = [];
    const good: string[] = [];
    for (const kind of formats(ctx)) {
      const r = await inOrderRun(ctx, kind);
      const problems = [...r.tx.problems, ...(r.rx?.problems ?? [])];
      const retired = r.tx.batches.flatMap((b) => b.members.map((m) => m.id));
      const orderOk = retired.every((id, i) => id === r.txOrder[i]);
      if (problems.length) bad.push(`${kind}: ${problems.slice(0, 3).join('; ')}`);
      else if (!orderOk) bad.push(`${kind}: TX used order ${retired.join(',')} vs available ${r.txOrder.join(',')}`);
      else if (r.tx.pending) bad.push(`${kind}: ${r.tx.pending} of 16 TX buffers not used within ${USE_MS} ms`);
      else good.push(`${kind}: 16 TX buffers retired in order by ${r.tx.batches.length} entries${r.rx ? `, RX ${r.rx.batches.length} entries in order` : ''}`);
    }
    if (bad.length) return fail(`expected buffers used in the order they were made available; observed ${bad.join('; ')}`);
    return pass(good.join('; '));
  },
};

const O2: Check = {
  id: 'O2',
  group: 'O',
  section: '2.7.9, 2.8.8',
  level: 'MUST',
  title: "IN_ORDER batch: last buffer's id in the first buffer's slot; skipped buffers fully used",
  rawRings: true,
  needs: { features: [F.F_IN_ORDER] },
  async run(ctx) {
    const bad: string[] = [];
    const seen: string[] = [];
    let batchesSeen = 0;
    for (const kind of formats(ctx)) {
      const r = await inOrderRun(ctx, kind);
      const problems = [...r.tx.problems, ...(r.rx?.problems ?? [])].filter((p) => /only \d+ ahead/.test(p));
      if (problems.length) bad.push(`${kind}: ${problems[0]}`);
      const txBatches = r.tx.batches.filter((b) => b.members.length > 1);
      const rxBatches = (r.rx?.batches ?? []).filter((b) => b.members.length > 1);
      batchesSeen += txBatches.length + rxBatches.length;
      // Skipped RX buffers count as used completely: every byte of them must have been written.
      for (const b of rxBatches) {
        for (const m of b.members.slice(0, -1)) {
          for (const w of m.writable) {
            const left = unwrittenTail(r.rig, w);
            if (left) bad.push(`${kind} RX batch entry at ${b.at} (id ${b.id}, ${b.members.length} buffers): skipped buffer ${m.id} still holds ${left} canary bytes of ${w.len}`);
          }
        }
      }
      seen.push(`${kind}: ${txBatches.length} TX batch entr${txBatches.length === 1 ? 'y' : 'ies'} (sizes ${txBatches.map((b) => b.members.length).join(',') || '-'}), ${rxBatches.length} RX (sizes ${rxBatches.map((b) => b.members.length).join(',') || '-'})`);
    }
    if (bad.length) return fail(`expected batch entries to stand for fully used buffers; observed ${bad.join('; ')}`);
    if (batchesSeen === 0) return skip(`not exercised: the device wrote one used entry per buffer, never a batch entry (${seen.join('; ')})`);
    return pass(`batch entries named the last buffer at the first buffer's slot, skipped buffers fully written: ${seen.join('; ')}`);
  },
};

/** Bytes at the end of a writable area still holding the 0xa5 canary (0 when fully written). */
function unwrittenTail(rig: Rig, w: Elem): number {
  const b = rig.bytes(w.addr, w.len);
  let n = 0;
  while (n < b.length && b[b.length - 1 - n] === 0xa5) n++;
  return n >= 4 ? n : 0;
}

export const IN_ORDER_CHECKS: Check[] = [O1, O2];
