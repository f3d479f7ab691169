// H1–H11: the virtio-net header on receive and transmit (virtio v1.2-cs01 §5.1.6).
import { firstDiff, inFrame, l4Checksum, nonce, nonceOf, outFrame, tcpFrame, udpFrame, type L4Frame } from '../../harness/conform/packets.ts';
import type { Rig } from '../../harness/conform/rig-types.ts';
import type { UsedEntry } from '../../harness/conform/split-lane.ts';
import type { InjectOffload } from '../../harness/conform/wire.ts';
import { fail, pass, skip, unmet, warn, type Check, type CheckContext, type Verdict } from '../../harness/conform/types.ts';
import { sleep } from '../../harness/conform/wait.ts';
import { F, featureNames, has } from '../../harness/virtio/features.ts';
import { NET_HDR_F, NET_HDR_GSO, decodeNetHdr, gsoTypeName, netHdrFlagNames, type NetHdr } from '../../harness/virtio/net-header.ts';
import { HDR, USE_MS, V1, captured, laneOf, postRx, send, txBuffer, v1 } from './common.ts';

interface Received {
  nonce: number | undefined;
  hdr: NetHdr;
  /** The frame as delivered (header stripped, cut at used.len). */
  frame: Uint8Array;
  used: UsedEntry;
}

/** Post one 2048-byte RX buffer per frame (non-mergeable), inject, and read back what arrived. */
async function receive(rig: Rig, ctx: CheckContext, frames: { frame: Uint8Array; offload?: InjectOffload }[], ms = USE_MS): Promise<Received[]> {
  const bufs = postRx(rig, frames.length, 2048);
  for (const f of frames) ctx.wire!.inject(f.frame, f.offload);
  const got = await laneOf(rig, 0).waitUsed(frames.length, ms);
  return got.flatMap((u) => {
    const b = bufs.find((x) => x.id === u.id);
    if (!b) return [];
    const raw = rig.bytes(b.addr, Math.min(u.len, b.len)).slice();
    const frame = raw.subarray(HDR);
    return [{ nonce: nonceOf(frame), hdr: decodeNetHdr(rig.bytes(b.addr, HDR)), frame, used: u }];
  });
}

const hdrText = (h: NetHdr) =>
  `flags ${netHdrFlagNames(h.flags).join('|') || '0'}, gso ${gsoTypeName(h.gsoType)}, gso_size ${h.gsoSize}, csum ${h.csumStart}/${h.csumOffset}, num_buffers ${h.numBuffers}`;

const H1: Check = {
  id: 'H1',
  group: 'H',
  section: '5.1.6.3.2, 5.1.6.4.1',
  level: 'MUST',
  title: 'Without MRG_RXBUF: num_buffers = 1, one buffer per packet',
  needs: { wire: 'inject' },
  async run(ctx) {
    const rig = await ctx.open({ features: V1 });
    const sizes = [100, 500, 1400];
    const got = await receive(rig, ctx, sizes.map((s) => ({ frame: inFrame(nonce(), s) })));
    const bad = got.filter((r) => r.hdr.numBuffers !== 1).map((r) => `${r.frame.length}-byte frame: num_buffers ${r.hdr.numBuffers} (0x${r.hdr.numBuffers.toString(16)})`);
    if (got.length < sizes.length) return fail(`expected ${sizes.length} frames in ${sizes.length} 2048-byte buffers; observed ${got.length} used`);
    if (bad.length) return fail(`expected num_buffers = 1 (VERSION_1, 12-byte header, MRG_RXBUF not negotiated); observed ${bad.join('; ')} — RX buffers were pre-filled with 0xa5`);
    return pass(`${got.length} frames (${sizes.join(', ')} bytes), one buffer each, num_buffers 1`);
  },
};

const H2: Check = {
  id: 'H2',
  group: 'H',
  section: '5.1.6.4.1',
  level: 'MUST',
  title: 'MRG_RXBUF: num_buffers right, first n-1 buffers full, all used together',
  needs: { features: [F.NET_F_MRG_RXBUF], wire: 'inject' },
  async run(ctx) {
    const rig = await ctx.open({ features: v1(F.NET_F_MRG_RXBUF) });
    const BUF = 256;
    const bufs = postRx(rig, 16, BUF);
    const frame = inFrame(nonce(), 1400);
    const need = Math.ceil((HDR + frame.length) / BUF);
    const q = rig.rx().split!;
    const base = q.usedIdx();
    ctx.wire!.inject(frame);
    // Watch used.idx: the first time it moves, all of the packet's buffers must be visible.
    let firstSeen = 0;
    const deadline = Date.now() + USE_MS;
    while (Date.now() < deadline && firstSeen === 0) {
      firstSeen = (q.usedIdx() - base) & 0xffff;
      if (!firstSeen) await sleep(0);
    }
    const used = await laneOf(rig, 0).waitUsed(need, USE_MS);
    if (!used.length) return fail(`expected a ${frame.length}-byte frame over ${BUF}-byte buffers; observed nothing used within ${USE_MS} ms`);
    const parts = used.map((u) => ({ u, b: bufs.find((x) => x.id === u.id)! }));
    const hdr = decodeNetHdr(rig.bytes(parts[0].b.addr, HDR));
    const problems: string[] = [];
    if (hdr.numBuffers !== parts.length) problems.push(`num_buffers ${hdr.numBuffers} but ${parts.length} buffers used for the packet`);
    if (parts.length !== need) problems.push(`${parts.length} buffers used, ${need} needed for ${HDR + frame.length} bytes in ${BUF}-byte buffers`);
    const notFull = parts.slice(0, -1).filter((p) => p.u.len !== BUF);
    if (notFull.length) problems.push(`buffers before the last not full: used.len ${notFull.map((p) => p.u.len).join(',')} of ${BUF}`);
    if (firstSeen && firstSeen < Math.min(hdr.numBuffers, parts.length)) problems.push(`used.idx first moved by ${firstSeen}, fewer than num_buffers ${hdr.numBuffers}`);
    const joined = new Uint8Array(parts.reduce((a, p) => a + Math.min(p.u.len, BUF), 0));
    let at = 0;
    for (const p of parts) {
      const n = Math.min(p.u.len, BUF);
      joined.set(rig.bytes(p.b.addr, n), at);
      at += n;
    }
    const data = joined.subarray(HDR, HDR + frame.length);
    if (Buffer.compare(Buffer.from(data), Buffer.from(frame)) !== 0) problems.push(`reassembled frame differs: ${firstDiff(frame, data)}`);
    if (problems.length) return fail(`expected num_buffers = buffers used, all but the last full, used together; observed ${problems.join('; ')}`);
    return pass(`${frame.length}-byte frame over ${parts.length} buffers of ${BUF}: num_buffers ${hdr.numBuffers}, first ${parts.length - 1} full, used.idx moved by ${firstSeen} at once, frame reassembled intact`);
  },
};

const H3: Check = {
  id: 'H3',
  group: 'H',
  section: '5.1.6.3.1 (derived)',
  level: 'MUST',
  title: 'MRG_RXBUF: 12-byte receive buffers accepted',
  needs: { features: [F.NET_F_MRG_RXBUF], wire: 'inject' },
  async run(ctx) {
    const rig = await ctx.open({ features: v1(F.NET_F_MRG_RXBUF) });
    const bufs = postRx(rig, 16, HDR);
    const frame = inFrame(nonce(), 60);
    const need = Math.ceil((HDR + frame.length) / HDR);
    ctx.wire!.inject(frame);
    const used = await laneOf(rig, 0).waitUsed(need, USE_MS);
    if (used.length === 0) return fail(`expected a ${frame.length}-byte frame spread over ${need} buffers of ${HDR} bytes (each holds exactly the header size, the minimum §5.1.6.3.1 allows); observed nothing used within ${USE_MS} ms`);
    const joined = Buffer.concat(used.map((u) => Buffer.from(rig.bytes(bufs.find((b) => b.id === u.id)!.addr, Math.min(u.len, HDR)))));
    const hdr = decodeNetHdr(joined.subarray(0, HDR));
    const data = joined.subarray(HDR, HDR + frame.length);
    if (used.length !== need || hdr.numBuffers !== need || Buffer.compare(data, Buffer.from(frame)) !== 0) {
      return fail(`expected ${need} buffers of ${HDR} bytes, num_buffers ${need}, frame intact; observed ${used.length} used, num_buffers ${hdr.numBuffers}, ${firstDiff(frame, data)}`);
    }
    return pass(`${frame.length}-byte frame delivered over ${need} buffers of ${HDR} bytes, num_buffers ${need}, intact`);
  },
};

const H4: Check = {
  id: 'H4',
  group: 'H',
  section: '5.1.6',
  level: 'MUST',
  title: '12-byte header with VERSION_1 (payload offsets)',
  needs: { wire: 'both' },
  async run(ctx) {
    const rig = await ctx.open({ features: V1 });
    const problems: string[] = [];
    const n = nonce();
    const f = outFrame(n, 100);
    ctx.wire!.drain();
    send(rig, [txBuffer(rig, f)]);
    const got = await captured(ctx.wire!, n);
    if (!got) problems.push('TX: frame (after a 12-byte header) never reached the far end');
    else if (Buffer.compare(Buffer.from(got), Buffer.from(f)) !== 0) problems.push(`TX: frame taken from the wrong offset (${firstDiff(f, got)})`);
    const inF = inFrame(nonce(), 100);
    const [r] = await receive(rig, ctx, [{ frame: inF }]);
    if (!r) problems.push('RX: frame not delivered');
    else if (Buffer.compare(Buffer.from(r.frame.subarray(0, inF.length)), Buffer.from(inF)) !== 0) problems.push(`RX: frame not at offset 12 (${firstDiff(inF, r.frame)})`);
    if (problems.length) return fail(`expected the frame right after a 12-byte header both ways; observed ${problems.join('; ')}`);
    return pass('TX frame read from offset 12, RX frame written at offset 12 (used.len ' + r!.used.len + ')');
  },
};

/** Offload stimuli a wire can carry: a sender's partial checksum and a TCP GSO packet. */
function partialUdp(): { l4: L4Frame; offload: InjectOffload } {
  const l4 = udpFrame({ nonce: nonce(), payload: 200, csum: 'partial' });
  return { l4, offload: { flags: NET_HDR_F.NEEDS_CSUM, csumStart: l4.l4, csumOffset: l4.csumOffset } };
}

function gsoTcp(): { l4: L4Frame; offload: InjectOffload } {
  const l4 = tcpFrame({ nonce: nonce(), payload: 1400, csum: 'partial' });
  return { l4, offload: { flags: NET_HDR_F.NEEDS_CSUM, csumStart: l4.l4, csumOffset: l4.csumOffset, gsoType: NET_HDR_GSO.TCPV4, gsoSize: 500, hdrLen: l4.l4 + 20 } };
}

/** Receive plain frames, and (when the wire can carry them) a partial-checksum UDP and a TCP GSO packet. */
async function offloadRun(ctx: CheckContext, features: bigint): Promise<{ got: Received[]; stimuli: string; label: (r: Received) => string }> {
  const rig = await ctx.open({ features });
  const names = new Map<number, string>();
  const frames: { frame: Uint8Array; offload?: InjectOffload }[] = [];
  const add = (name: string, l4: L4Frame, offload?: InjectOffload) => {
    names.set(nonceOf(l4.frame)!, `${name} (${l4.frame.length} bytes)`);
    frames.push({ frame: l4.frame, offload });
  };
  add('UDP, full checksum', udpFrame({ nonce: nonce(), payload: 300 }));
  add('TCP, full checksum', tcpFrame({ nonce: nonce(), payload: 300 }));
  let stimuli = 'UDP and TCP frames with full checksums';
  if (ctx.wire!.offloads) {
    const p = partialUdp();
    const g = gsoTcp();
    add('UDP sent with CHECKSUM_PARTIAL', p.l4, p.offload);
    add('TCP GSO packet (gso_size 500) sent with CHECKSUM_PARTIAL', g.l4, g.offload);
    stimuli += ', a UDP frame with a partial checksum (CHECKSUM_PARTIAL at the sender) and a 1400-byte TCP GSO packet (gso_size 500)';
    await ctx.wire!.passOffloads(true);
  }
  try {
    const got = await receive(rig, ctx, frames, 800);
    return { got, stimuli: `${stimuli}; ${got.length} delivered`, label: (r) => names.get(r.nonce ?? -1) ?? `untagged ${r.frame.length}-byte frame` };
  } finally {
    await ctx.wire!.passOffloads(false);
  }
}

const H5: Check = {
  id: 'H5',
  group: 'H',
  section: '5.1.6.4.1',
  level: 'MUST',
  title: 'Without GUEST_CSUM: flags = 0 (MUST), packets fully checksummed (SHOULD)',
  needs: { wire: 'inject' },
  async run(ctx) {
    const { got, stimuli, label } = await offloadRun(ctx, V1);
    if (!got.length) return fail(`expected the injected frames delivered; observed nothing (${stimuli})`);
    const flagged = got.filter((r) => r.hdr.flags !== 0).map((r) => `${label(r)}: ${hdrText(r.hdr)}`);
    if (flagged.length) return fail(`expected flags 0 without GUEST_CSUM; observed ${flagged.join('; ')} (${stimuli})`);
    const badSum = got.filter((r) => l4Checksum(r.frame) === 'bad').map(label);
    if (badSum.length) return warn(`flags 0 on all ${got.length} (MUST met); expected fully checksummed packets (SHOULD); observed ${badSum.length} delivered with an incomplete L4 checksum: ${badSum.join(', ')} (${stimuli})`);
    return pass(`flags 0 and valid L4 checksums on all ${got.length} (${stimuli})`);
  },
};

const H6: Check = {
  id: 'H6',
  group: 'H',
  section: '5.1.6.4.1',
  level: 'MUST',
  title: 'gso_type NONE unless GUEST_TSO/UFO negotiated; no RSC_INFO without RSC_EXT',
  needs: { wire: 'inject' },
  async run(ctx) {
    const { got, stimuli, label } = await offloadRun(ctx, V1);
    if (!got.length) return fail(`expected the injected frames delivered; observed nothing (${stimuli})`);
    const bad = got.filter((r) => r.hdr.gsoType !== NET_HDR_GSO.NONE || r.hdr.flags & NET_HDR_F.RSC_INFO).map((r) => `${label(r)}: ${hdrText(r.hdr)}`);
    if (bad.length) return fail(`expected gso_type NONE and no RSC_INFO (no GUEST_TSO4/6, GUEST_UFO or RSC_EXT negotiated); observed ${bad.join('; ')} (${stimuli})`);
    return pass(`gso_type NONE, no RSC_INFO on all ${got.length} (${stimuli})`);
  },
};

const H7: Check = {
  id: 'H7',
  group: 'H',
  section: '5.1.6.4.1',
  level: 'MUST',
  title: 'GSO delivered with NEEDS_CSUM and gso_size; ECN only with GUEST_ECN',
  needs: { features: [F.NET_F_GUEST_CSUM, F.NET_F_GUEST_TSO4], wire: 'inject' },
  async run(ctx) {
    const want = [F.NET_F_GUEST_CSUM, F.NET_F_GUEST_TSO4, F.NET_F_GUEST_TSO6].filter((b) => has(ctx.offered, b));
    const { got, stimuli } = await offloadRun(ctx, v1(...want));
    const gso = got.filter((r) => r.hdr.gsoType !== NET_HDR_GSO.NONE);
    const neg = featureNames(v1(...want)).join(', ');
    if (!gso.length) return skip(`not exercised: the device delivered no GSO packet with ${neg} negotiated (${stimuli})`);
    const bad = gso.filter((r) => !(r.hdr.flags & NET_HDR_F.NEEDS_CSUM) || r.hdr.gsoSize === 0 || r.hdr.gsoType & NET_HDR_GSO.ECN).map((r) => hdrText(r.hdr));
    if (bad.length) return fail(`expected NEEDS_CSUM, gso_size > 0 and no ECN bit (GUEST_ECN not negotiated) on GSO packets; observed ${bad.join('; ')}`);
    return pass(`${gso.length} GSO packet(s) with NEEDS_CSUM and gso_size (${gso.map((r) => hdrText(r.hdr)).join('; ')})`);
  },
};

const H8: Check = {
  id: 'H8',
  group: 'H',
  section: '5.1.6.4.1',
  level: 'MUST',
  title: 'RX NEEDS_CSUM: csum_start/csum_offset complete the checksum',
  needs: { features: [F.NET_F_GUEST_CSUM], wire: 'inject' },
  async run(ctx) {
    const { got, stimuli } = await offloadRun(ctx, v1(F.NET_F_GUEST_CSUM));
    const partial = got.filter((r) => r.hdr.flags & NET_HDR_F.NEEDS_CSUM);
    if (!partial.length) return skip(`not exercised: the device set NEEDS_CSUM on none of ${got.length} packets with GUEST_CSUM negotiated (${stimuli})`);
    const bad: string[] = [];
    for (const r of partial) {
      const f = r.frame.slice();
      const { csumStart: s, csumOffset: o } = r.hdr;
      if (s + o + 2 > f.length) {
        bad.push(`csum_start ${s} + csum_offset ${o} beyond the ${f.length}-byte frame`);
        continue;
      }
      // Complete: ones' complement sum from csum_start to the end, stored at csum_start + csum_offset.
      let acc = 0;
      for (let i = s; i + 1 < f.length; i += 2) acc += (f[i] << 8) | f[i + 1];
      if ((f.length - s) & 1) acc += f[f.length - 1] << 8;
      while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
      const c = ~acc & 0xffff;
      f[s + o] = c >> 8;
      f[s + o + 1] = c & 0xff;
      if (l4Checksum(f) !== 'ok') bad.push(`completing at ${s}/${o} does not give a valid L4 checksum (${hdrText(r.hdr)})`);
    }
    if (bad.length) return fail(`expected csum_start/csum_offset to complete the packet's checksum; observed ${bad.join('; ')}`);
    return pass(`${partial.length} packet(s) with NEEDS_CSUM: completing at csum_start/csum_offset gives valid checksums`);
  },
};

/** Transmit one frame with a given header; the frame at the far end must be byte-identical. */
async function txIdentical(ctx: CheckContext, features: bigint, frame: Uint8Array, n: number, hdr: Partial<NetHdr>): Promise<{ got?: Uint8Array; used: boolean }> {
  const rig = await ctx.open({ features });
  ctx.wire!.drain();
  const id = send(rig, [txBuffer(rig, frame, hdr)]);
  const lane = laneOf(rig, 1);
  const got = await captured(ctx.wire!, n);
  const used = (await lane.waitFor(id, 200)) !== undefined || lane.returned.some((e) => e.id === id);
  return { got, used };
}

function identical(label: string, frame: Uint8Array, r: { got?: Uint8Array; used: boolean }, level: 'MUST' | 'SHOULD' = 'MUST'): Verdict {
  if (!r.got) return unmet(level, `expected the frame transmitted unchanged; observed nothing at the far end (${label}; buffer ${r.used ? 'returned' : 'not returned'})`);
  if (Buffer.compare(Buffer.from(r.got), Buffer.from(frame)) !== 0) return unmet(level, `expected the frame byte-identical; observed ${firstDiff(frame, r.got)} (${label})`);
  return pass(`${label}: frame transmitted byte-identical`);
}

const H9: Check = {
  id: 'H9',
  group: 'H',
  section: '5.1.6.2.2',
  level: 'MUST',
  title: 'TX: unknown header flag bits ignored',
  needs: { wire: 'capture' },
  async run(ctx) {
    const n = nonce();
    const frame = udpFrame({ nonce: n, payload: 200, inbound: false }).frame;
    const r = await txIdentical(ctx, V1, frame, n, { flags: 0xf8 });
    return identical('header flags 0xf8 (bits 3-7, undefined)', frame, r);
  },
};

const H10: Check = {
  id: 'H10',
  group: 'H',
  section: '5.1.6.2.2',
  level: 'MUST',
  title: 'TX without NEEDS_CSUM: csum_start/offset not used, hdr_len not trusted',
  needs: { wire: 'capture' },
  async run(ctx) {
    const n = nonce();
    // A UDP frame with a deliberately wrong checksum: a device using csum_* would "fix" or mangle it.
    const frame = udpFrame({ nonce: n, payload: 200, csum: 'bad', inbound: false }).frame;
    const r = await txIdentical(ctx, V1, frame, n, { flags: 0, csumStart: 20, csumOffset: 4, hdrLen: 9999 });
    return identical('flags 0, csum_start 20, csum_offset 4, hdr_len 9999, UDP checksum deliberately wrong', frame, r);
  },
};

const H11: Check = {
  id: 'H11',
  group: 'H',
  section: '5.1.6.2',
  level: 'MUST',
  title: 'TX NEEDS_CSUM: checksum completed by the device',
  needs: { features: [F.NET_F_CSUM], wire: 'capture' },
  async run(ctx) {
    const n = nonce();
    const l4 = udpFrame({ nonce: n, payload: 300, csum: 'partial', inbound: false });
    const r = await txIdentical(ctx, v1(F.NET_F_CSUM), l4.frame, n, { flags: NET_HDR_F.NEEDS_CSUM, csumStart: l4.l4, csumOffset: l4.csumOffset });
    const label = `UDP frame with only the pseudo-header sum in its checksum, NEEDS_CSUM, csum_start ${l4.l4}, csum_offset ${l4.csumOffset}`;
    if (!r.got) return fail(`expected the frame at the far end with its checksum completed; observed nothing (${label})`);
    const state = l4Checksum(r.got);
    if (state !== 'ok') return fail(`expected a valid UDP checksum at the far end; observed it ${state === 'bad' ? 'incomplete' : 'unreadable'} (checksum field 0x${((r.got[l4.l4 + 6] << 8) | r.got[l4.l4 + 7]).toString(16)}; ${label})`);
    return pass(`${label}: valid UDP checksum at the far end`);
  },
};

export const NET_HEADER_CHECKS: Check[] = [H1, H2, H3, H4, H5, H6, H7, H8, H9, H10, H11];
