// I1–I3: indirect descriptors (virtio v1.2-cs01 §2.7.5.3, §2.8.7).
import { MemoryGuard, describeChanges } from '../../harness/conform/guard.ts';
import { firstDiff, hex, inFrame, nonce, nonceOf, outFrame } from '../../harness/conform/packets.ts';
import { fail, pass, type Check } from '../../harness/conform/types.ts';
import { F } from '../../harness/virtio/features.ts';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_WRITE } from '../../harness/virtio/layout.ts';
import { HDR, USE_MS, captured, txPieces, v1 } from './common.ts';

const I1: Check = {
  id: 'I1',
  group: 'I',
  section: '2.7.5.3.2',
  level: 'MUST',
  title: 'WRITE ignored on the descriptor that points at an indirect table',
  needs: { features: [F.F_INDIRECT_DESC], wire: 'capture' },
  async run(ctx) {
    const wire = ctx.wire!;
    const rig = await ctx.open({ features: v1(F.F_INDIRECT_DESC) });
    const lane = rig.splitLane(1);
    const n = nonce();
    const frame = outFrame(n, 180);
    wire.drain();
    const head = lane.add(txPieces(rig, frame, [HDR]), { indirect: true, indirectFlags: VIRTQ_DESC_F_WRITE });
    lane.kick();
    const used = await lane.waitFor(head, USE_MS);
    const got = await captured(wire, n);
    const stim = 'TX: ring descriptor flags INDIRECT|WRITE → table [12-byte header, 180-byte frame], both device-readable';
    if (!got) return fail(`expected the frame transmitted as if WRITE were clear; observed no frame at the far end${used ? ' (the buffer was returned)' : ', buffer not returned'} (${stim})`);
    if (Buffer.compare(Buffer.from(got), Buffer.from(frame)) !== 0) return fail(`expected the frame unchanged; observed ${firstDiff(frame, got)} (${stim})`);
    return pass(`${stim}: frame transmitted intact${used ? ', buffer returned' : ''}`);
  },
};

const I2: Check = {
  id: 'I2',
  group: 'I',
  section: '2.7.5.3.2',
  level: 'MUST',
  title: 'Direct descriptors followed by one INDIRECT descriptor handled',
  needs: { features: [F.F_INDIRECT_DESC], wire: 'both' },
  async run(ctx) {
    const wire = ctx.wire!;
    const rig = await ctx.open({ features: v1(F.F_INDIRECT_DESC) });
    const bad: string[] = [];
    const good: string[] = [];
    // TX: [header] → INDIRECT → table [frame part 1, frame part 2].
    const tx = rig.splitLane(1);
    const n = nonce();
    const frame = outFrame(n, 160);
    const [hdr, p1, p2] = txPieces(rig, frame, [HDR, 60]);
    const t = tx.indirectTable([p1, p2]);
    wire.drain();
    tx.publish(tx.writeChain([hdr, { addr: t.addr, len: t.len, flags: VIRTQ_DESC_F_INDIRECT }]));
    tx.kick();
    const frames = await wire.collect(400);
    const got = frames.find((f) => nonceOf(f) === n);
    if (!got) {
      const other = frames.map((f) => `${f.length} bytes ${hex(f, 16)}`);
      bad.push(`TX: no frame with our tag at the far end${other.length ? `; instead: ${other.slice(0, 3).join(', ')} (the pointer's ${t.len}-byte table sent as frame data?)` : ''}`);
    } else if (Buffer.compare(Buffer.from(got), Buffer.from(frame)) !== 0) bad.push(`TX: ${firstDiff(frame, got)}`);
    else good.push('TX [12-byte header] → INDIRECT [60 + 88 bytes]: frame intact');
    // RX: [12-byte writable header] → INDIRECT → table [2048 writable]; the table itself is driver memory.
    const rx = rig.splitLane(0);
    const hb = rig.buffer(HDR, 0xa5);
    const data = rig.buffer(2048, 0xa5);
    const rt = rx.indirectTable([{ addr: data, len: 2048, write: true }]);
    const guard = new MemoryGuard(rig.mem).label('the indirect table', rt.addr, rt.len).arm();
    const id = rx.writeChain([{ addr: hb, len: HDR, write: true }, { addr: rt.addr, len: rt.len, flags: VIRTQ_DESC_F_INDIRECT }]);
    rx.publish(id);
    rx.kick();
    const inF = inFrame(nonce(), 150);
    wire.inject(inF);
    const u = await rx.waitFor(id, USE_MS);
    const tableWrites = guard.changes().filter((c) => c.where.startsWith('the indirect table'));
    const landed = Buffer.compare(Buffer.from(rig.bytes(data, inF.length)), Buffer.from(inF)) === 0;
    if (!u) bad.push(`RX: the chain was not used within ${USE_MS} ms`);
    else if (tableWrites.length) bad.push(`RX: the device wrote packet data over the indirect table instead of following it: ${describeChanges(tableWrites, 2)}`);
    else if (!landed) bad.push(`RX: used (len ${u.len}) but the frame is not in the table's 2048-byte buffer (${firstDiff(inF, rig.bytes(data, inF.length))})`);
    else good.push(`RX [12-byte header] → INDIRECT [2048]: frame in the table's buffer, used.len ${u.len}`);
    if (bad.length) return fail(`expected a chain of direct descriptors ending in one INDIRECT descriptor to be followed into the table; observed ${bad.join('; ')}`);
    return pass(good.join('; '));
  },
};

const I3: Check = {
  id: 'I3',
  group: 'I',
  section: '2.8.7',
  level: 'MUST',
  title: 'Packed: reserved Buffer ID in indirect entries and WRITE on the pointer ignored',
  needs: { features: [F.F_INDIRECT_DESC, F.F_RING_PACKED], ring: 'packed', wire: 'capture' },
  async run(ctx) {
    const wire = ctx.wire!;
    const rig = await ctx.open({ features: v1(F.F_INDIRECT_DESC, F.F_RING_PACKED) });
    const lane = rig.packedLane(1);
    const n = nonce();
    const frame = outFrame(n, 140);
    wire.drain();
    const id = lane.add(txPieces(rig, frame, [HDR]), { indirect: true, indirectFlags: VIRTQ_DESC_F_WRITE, indirectIds: 0xbeef });
    lane.kick();
    const used = await lane.waitFor(id, USE_MS);
    const got = await captured(wire, n);
    const stim = 'packed TX: pointer flags INDIRECT|WRITE, table entries with Buffer ID 0xbeef (reserved)';
    if (!got) return fail(`expected the frame transmitted; observed nothing at the far end${used ? '' : ' and the buffer not returned'} (${stim})`);
    if (Buffer.compare(Buffer.from(got), Buffer.from(frame)) !== 0) return fail(`expected the frame unchanged; observed ${firstDiff(frame, got)} (${stim})`);
    if (!used) return fail(`expected a used descriptor with Buffer ID ${id}; observed the frame transmitted but none (${stim}; returned: ${lane.returned.map((e) => e.id).join(',') || 'none'})`);
    return pass(`${stim}: frame intact, used descriptor carries the ring descriptor's Buffer ID ${id}`);
  },
};

export const INDIRECT_CHECKS: Check[] = [I1, I2, I3];
