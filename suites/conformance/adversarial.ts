// A1–A7: adversarial inputs. Each breaks a driver MUST NOT (descriptor loops, chains longer than
// the ring, addresses outside the memory table, lengths that overflow, nested indirect tables,
// zero-length buffers, avail.idx jumping past the ring). The spec leaves the device's reaction
// open (it SHOULD set DEVICE_NEEDS_RESET, §2.1.2); the suite's requirement is that the device
// survives: no crash, no hang, and no write outside the memory the driver gave it as writable
// (guard: everything but the used rings and the device-writable buffers is watched). A device
// that fails is restarted by the runner and the suite goes on.
import { MemoryGuard, describeChanges } from '../../harness/conform/guard.ts';
import { inFrame, nonce, nonceOf, outFrame } from '../../harness/conform/packets.ts';
import { GUARD } from '../../harness/conform/rig.ts';
import type { Rig } from '../../harness/conform/rig-types.ts';
import { WATCHED, fail, pass, type Check, type CheckContext, type Verdict } from '../../harness/conform/types.ts';
import { sleep, withTimeout } from '../../harness/conform/wait.ts';
import { F } from '../../harness/virtio/features.ts';
import { VIRTIO_STATUS, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../harness/virtio/layout.ts';
import { HDR, V1, txPieces, v1 } from './common.ts';

const RING = 16;
const WATCH_MS = 400;
const NEXT = VIRTQ_DESC_F_NEXT;
const WRITE = VIRTQ_DESC_F_WRITE;
const INDIRECT = VIRTQ_DESC_F_INDIRECT;

/** A descriptor written byte for byte: any 64-bit address, any length (no number precision limits). */
function rawDesc(rig: Rig, table: number, i: number, addr: bigint, len: number, flags: number, next = 0): void {
  const b = rig.bytes(table + i * 16, 16);
  const dv = new DataView(b.buffer, b.byteOffset, 16);
  dv.setBigUint64(0, addr & 0xffff_ffff_ffff_ffffn, true);
  dv.setUint32(8, len >>> 0, true);
  dv.setUint16(12, flags, true);
  dv.setUint16(14, next, true);
}

/** A table of `n` descriptors in fresh guest memory (for indirect tables). */
function table(rig: Rig, n: number): number {
  return rig.buffer(n * 16);
}

interface Stimulus {
  /** What was done, for the evidence. */
  what: string;
  /** Heads to publish on TX (ring 1) and RX (ring 0). */
  tx: number[];
  rx: number[];
  /** Frames to inject after publishing. */
  inject: number;
  /** Raw avail.idx to set on TX after publishing (A7). */
  txAvailIdx?: number;
  rxAvailIdx?: number;
}

interface Build {
  rig: Rig;
  guard: MemoryGuard;
  /** Device-writable memory: the device may write here. */
  writable(gpa: number, len: number): void;
  /** Fresh guest memory of `len` bytes, marked device-writable. */
  writableBuffer(len: number): number;
  /** Device-readable buffers: given to the device, so a write there is S1's finding, not this one's. */
  given(gpa: number, len: number): void;
  txTable: number;
  rxTable: number;
  memEnd: bigint;
}

/** header ‖ frame in guest memory, as two readable pieces (for valid parts of bad chains). */
function txParts(b: Build): { hdr: { addr: number; len: number }; frame: { addr: number; len: number }; nonce: number } {
  const n = nonce();
  const [hdr, frame] = txPieces(b.rig, outFrame(n, 100), [HDR]);
  b.given(hdr.addr, hdr.len);
  b.given(frame.addr, frame.len);
  return { hdr, frame, nonce: n };
}

async function sessionState(rig: Rig): Promise<string> {
  try {
    await withTimeout(rig.session.getFeatures(), 1000, 'GET_FEATURES');
  } catch (err) {
    return `the session no longer answers (${(err as Error).name}: ${(err as Error).message.split('\n')[0]})`;
  }
  if (rig.session.supports('status').ok) {
    const st = await withTimeout(rig.session.getStatus(), 1000, 'GET_STATUS').catch(() => undefined);
    if (st !== undefined) return st & VIRTIO_STATUS.DEVICE_NEEDS_RESET ? `the device set DEVICE_NEEDS_RESET (status 0x${st.toString(16)})` : `the session still answers (status 0x${st.toString(16)}, no DEVICE_NEEDS_RESET)`;
  }
  return 'the session still answers';
}

async function adversarial(ctx: CheckContext, features: bigint, build: (b: Build) => Stimulus): Promise<Verdict> {
  const rig = await ctx.open({ features, size: RING });
  const guard = new MemoryGuard(rig.mem);
  for (const q of rig.queues) {
    guard.allow(q.layout.device, 6 + 8 * q.size);
    guard.label(`descriptor table of ring ${q.index}`, q.layout.desc, q.size * 16);
    guard.label(`available ring of ring ${q.index}`, q.layout.driver, 6 + 2 * q.size);
  }
  const region = rig.mem.regions[0];
  const b: Build = {
    rig,
    guard,
    writable: (gpa, len) => guard.allow(gpa, len),
    writableBuffer: (len) => {
      const at = rig.buffer(len);
      guard.allow(at, len);
      return at;
    },
    given: (gpa, len) => guard.allow(gpa, len),
    txTable: rig.queues[1].layout.desc,
    rxTable: rig.queues[0].layout.desc,
    memEnd: region.gpa + BigInt(region.size),
  };
  const s = build(b);
  guard.arm();
  const txl = rig.splitLane(1);
  const rxl = rig.splitLane(0);
  ctx.wire?.drain();
  for (const h of s.rx) rxl.publish(h);
  for (const h of s.tx) txl.publish(h);
  // A jump: every slot it covers names descriptor 0 (the lane keeps a marker past avail.idx; the
  // stimulus is a ring of valid-looking stale entries, as a driver bug would leave).
  for (const [l, idx] of [[txl, s.txAvailIdx], [rxl, s.rxAvailIdx]] as const) {
    if (idx === undefined) continue;
    for (let slot = l.nextAvail; slot !== (idx & 0xffff); slot = (slot + 1) & 0xffff) l.raw.setAvailRing(slot, 0);
    l.raw.setAvailIdx(idx);
  }
  // The driver's own ring writes are the new baseline; a device has had microseconds to touch them.
  for (const q of rig.queues) guard.rebase(q.layout.driver, 6 + 2 * q.size);
  rig.rx().kick();
  rig.tx().kick();
  for (let k = 0; k < s.inject; k++) ctx.wire?.inject(inFrame(nonce(), 200));
  await sleep(WATCH_MS);
  const alive = ctx.alive();
  const changes = guard.changes();
  const txUsed = txl.raw.usedIdx();
  const rxUsed = rxl.raw.usedIdx();
  const frames = ctx.wire ? (await ctx.wire.collect(30)).filter((f) => nonceOf(f) !== undefined).length : 0;
  const state = alive ? await sessionState(rig) : 'dead';
  await rig.close();
  const observed = `TX used.idx ${txUsed}, RX used.idx ${rxUsed}${ctx.wire ? `, ${frames} tagged frame(s) at the far end` : ''}; ${state}`;
  if (!alive) return fail(`expected the device to survive ${s.what}; observed it crashed (${ctx.dutName}: ${observed})`);
  if (changes.length) return fail(`expected no write outside the used rings and device-writable buffers; observed ${describeChanges(changes)} after: ${s.what} (${observed})`);
  const health = await ctx.probeHealth();
  if (!health.ok) return fail(`expected the device still working after ${s.what}; observed: ${health.detail} (${observed})`);
  return pass(`survived: ${s.what} → ${observed}; nothing written outside its buffers; ${health.detail}`);
}

interface AdversarialSpec {
  id: string;
  section: string;
  title: string;
  /** A feature the stimulus needs beyond VERSION_1 (negotiated, and required of the device). */
  feature?: number;
}

/** Every adversarial check is a MUST the device survives; what the rings do under its garbage is its own to judge. */
function adversarialCheck(spec: AdversarialSpec, build: (b: Build) => Stimulus): Check {
  const { id, section, title, feature } = spec;
  const features = feature === undefined ? V1 : v1(feature);
  return {
    id,
    owns: WATCHED,
    rawRings: true,
    group: 'A',
    section,
    level: 'MUST',
    title,
    needs: feature === undefined ? {} : { features: [feature] },
    run: (ctx) => adversarial(ctx, features, build),
  };
}

const A1 = adversarialCheck(
  { id: 'A1', section: '2.7.5.3.1 (loops forbidden)', title: 'Descriptor loop: no crash, hang or stray write' },
  (b) => {
    const { rig, txTable, rxTable } = b;
    const p = txParts(b);
    rawDesc(rig, txTable, 0, BigInt(p.hdr.addr), p.hdr.len, NEXT, 1);
    rawDesc(rig, txTable, 1, BigInt(p.frame.addr), p.frame.len, NEXT, 2);
    rawDesc(rig, txTable, 2, BigInt(p.frame.addr), 16, NEXT, 0); // back to the head
    rawDesc(rig, txTable, 5, BigInt(p.frame.addr), 8, NEXT, 5); // a descriptor pointing at itself
    const r1 = b.writableBuffer(1024);
    const r2 = b.writableBuffer(1024);
    rawDesc(rig, rxTable, 3, BigInt(r1), 1024, WRITE | NEXT, 4);
    rawDesc(rig, rxTable, 4, BigInt(r2), 1024, WRITE | NEXT, 3);
    return { what: 'TX chains 0→1→2→0 and 5→5, RX chain 3→4→3 (1 KiB writable buffers), 2 frames injected', tx: [0, 5], rx: [3], inject: 2 };
  },
);

const A2 = adversarialCheck(
  { id: 'A2', section: '2.7.5.3.1 (chain ≤ queue size)', feature: F.F_INDIRECT_DESC, title: 'Chain longer than the ring (indirect table of 2×size+1): no crash, hang or stray write' },
  (b) => {
    const { rig, txTable, rxTable } = b;
    const n = 2 * RING + 1;
    const frame = outFrame(nonce(), 2 * n + 20);
    const all = new Uint8Array(HDR + frame.length);
    all.set(frame, HDR);
    const data = rig.buffer(all.length);
    rig.bytes(data, all.length).set(all);
    b.given(data, all.length);
    const t = table(rig, n);
    const per = Math.floor(all.length / n);
    for (let i = 0; i < n; i++) rawDesc(rig, t, i, BigInt(data + i * per), i === n - 1 ? all.length - per * i : per, i < n - 1 ? NEXT : 0, i + 1);
    rawDesc(rig, txTable, 0, BigInt(t), n * 16, INDIRECT);
    const rt = table(rig, n);
    for (let i = 0; i < n; i++) {
      const buf = b.writableBuffer(64);
      rawDesc(rig, rt, i, BigInt(buf), 64, WRITE | (i < n - 1 ? NEXT : 0), i + 1);
    }
    rawDesc(rig, rxTable, 0, BigInt(rt), n * 16, INDIRECT);
    return { what: `TX and RX indirect tables of ${n} descriptors on rings of ${RING}, 2 frames injected`, tx: [0], rx: [0], inject: 2 };
  },
);

const A3 = adversarialCheck(
  { id: 'A3', section: '2.7.5 (addresses in guest memory)', title: 'Buffer addresses outside the memory table: no crash, hang or stray write' },
  (b) => {
    const { rig, txTable, rxTable, writable, memEnd } = b;
    const p = txParts(b);
    rawDesc(rig, txTable, 0, BigInt(p.hdr.addr), p.hdr.len, NEXT, 1);
    rawDesc(rig, txTable, 1, memEnd + 0x100000n, 100, 0); // beyond the table
    rawDesc(rig, txTable, 2, 0n, 64, 0); // GPA 0: below the only region
    rawDesc(rig, txTable, 3, memEnd - 32n, 64, 0); // straddles the end of the region
    rawDesc(rig, rxTable, 0, memEnd + 0x10000n, 2048, WRITE);
    const end = Number(memEnd);
    writable(end - 100, 100); // the part of the straddling buffer inside guest memory
    rawDesc(rig, rxTable, 1, memEnd - 100n, 2048, WRITE);
    rawDesc(rig, rxTable, 2, 0x10n, 2048, WRITE);
    return { what: 'TX buffers at end+1 MiB, at GPA 0 and straddling the end of guest memory; RX writable buffers at end+64 KiB, straddling the end, and at GPA 0x10; 3 frames injected', tx: [0, 2, 3], rx: [0, 1, 2], inject: 3 };
  },
);

const A4 = adversarialCheck(
  { id: 'A4', section: '2.7.5.2 (chain < 2^32 bytes)', title: 'Lengths that overflow (addr+len past 2^64, len 2^32-1, chain > 2^32): no crash, hang or stray write' },
  (b) => {
    const { rig, txTable, rxTable, writable, memEnd } = b;
    const p = txParts(b);
    rawDesc(rig, txTable, 0, 0xffff_ffff_ffff_f000n, 0x2000, 0); // wraps past 2^64
    rawDesc(rig, txTable, 1, BigInt(p.hdr.addr), 0xffff_ffff, 0); // 4 GiB from a valid address
    b.given(p.hdr.addr, Number(memEnd) - p.hdr.addr);
    rawDesc(rig, txTable, 2, BigInt(p.hdr.addr), 0x8000_0001, NEXT, 3); // two halves > 2^32 in total
    rawDesc(rig, txTable, 3, BigInt(p.frame.addr), 0x8000_0001, 0);
    const r = rig.buffer(2048);
    writable(r, Number(memEnd) - r); // a 4 GiB writable buffer: whatever of it lies in guest memory
    rawDesc(rig, rxTable, 0, BigInt(r), 0xffff_ffff, WRITE);
    rawDesc(rig, rxTable, 1, 0xffff_ffff_ffff_ff00n, 0x1000, WRITE);
    return { what: 'TX: addr 0xfffffffffffff000 len 0x2000; len 0xffffffff at a valid address; a 2-descriptor chain of 2×0x80000001 bytes; RX: writable len 0xffffffff, and addr+len past 2^64; 2 frames injected', tx: [0, 1, 2], rx: [0, 1], inject: 2 };
  },
);

const A5 = adversarialCheck(
  { id: 'A5', section: '2.7.5.3.1 (no INDIRECT in an indirect table)', feature: F.F_INDIRECT_DESC, title: 'Nested indirect tables: no crash, hang or stray write' },
  (b) => {
    const { rig, guard, txTable, rxTable } = b;
    const p = txParts(b);
    const inner = table(rig, 1);
    rawDesc(rig, inner, 0, BigInt(p.frame.addr), p.frame.len, 0);
    const outer = table(rig, 2);
    rawDesc(rig, outer, 0, BigInt(p.hdr.addr), p.hdr.len, NEXT, 1);
    rawDesc(rig, outer, 1, BigInt(inner), 16, INDIRECT);
    rawDesc(rig, txTable, 0, BigInt(outer), 32, INDIRECT);
    guard.label('TX inner indirect table', inner, 16).label('TX outer indirect table', outer, 32);
    const buf = b.writableBuffer(2048);
    const rInner = table(rig, 1);
    rawDesc(rig, rInner, 0, BigInt(buf), 2048, WRITE);
    const rOuter = table(rig, 1);
    rawDesc(rig, rOuter, 0, BigInt(rInner), 16, INDIRECT);
    rawDesc(rig, rxTable, 0, BigInt(rOuter), 16, INDIRECT);
    guard.label('RX inner indirect table', rInner, 16).label('RX outer indirect table', rOuter, 16);
    return { what: 'TX: INDIRECT → [header, INDIRECT → [frame]]; RX: INDIRECT → [INDIRECT → [2048 writable]]; 1 frame injected', tx: [0], rx: [0], inject: 1 };
  },
);

const A6 = adversarialCheck(
  { id: 'A6', section: '2.7.5 (zero-length buffers)', title: 'Zero-length buffers: no crash, hang or stray write' },
  (b) => {
    const { rig, txTable, rxTable } = b;
    const p = txParts(b);
    rawDesc(rig, txTable, 0, BigInt(p.hdr.addr), p.hdr.len, NEXT, 1);
    rawDesc(rig, txTable, 1, BigInt(p.frame.addr), 0, NEXT, 2);
    rawDesc(rig, txTable, 2, BigInt(p.frame.addr), p.frame.len, 0);
    rawDesc(rig, txTable, 3, 0n, 0, 0); // a lone zero-length descriptor at GPA 0
    const z = rig.buffer(GUARD);
    const r = b.writableBuffer(2048);
    rawDesc(rig, rxTable, 0, BigInt(z), 0, WRITE | NEXT, 1);
    rawDesc(rig, rxTable, 1, BigInt(r), 2048, WRITE);
    rawDesc(rig, rxTable, 2, BigInt(z), 0, WRITE); // a chain with no writable byte at all
    return { what: 'TX: header → 0-byte descriptor → frame, and a lone 0-byte descriptor at GPA 0; RX: 0-byte writable → 2048 writable, and a lone 0-byte writable; 2 frames injected', tx: [0, 3], rx: [2, 0], inject: 2 };
  },
);

const A7 = adversarialCheck(
  { id: 'A7', section: '2.7.6 (avail.idx moves ≤ queue size)', title: 'avail.idx jumping past the ring size: no crash, hang or stray write' },
  (b) => {
    const { rig, txTable, rxTable } = b;
    const p = txParts(b);
    rawDesc(rig, txTable, 0, BigInt(p.hdr.addr), p.hdr.len, NEXT, 1);
    rawDesc(rig, txTable, 1, BigInt(p.frame.addr), p.frame.len, 0);
    const r = b.writableBuffer(2048);
    rawDesc(rig, rxTable, 0, BigInt(r), 2048, WRITE);
    return { what: `one valid chain published on TX and RX, then avail.idx set to ${RING + 5} (ring of ${RING}; the other slots name descriptor 0 again); 4 frames injected`, tx: [0], rx: [0], inject: 4, txAvailIdx: RING + 5, rxAvailIdx: RING + 5 };
  },
);

export const ADVERSARIAL_CHECKS: Check[] = [A1, A2, A3, A4, A5, A6, A7];
