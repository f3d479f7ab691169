// F1–F5: feature negotiation and device status (virtio v1.2-cs01 §2.1, §2.2, §2.4, §6).
import { DeviceRejectedError } from '../../harness/vhost/session.ts';
import { VHOST_ONLY_BITS } from '../../harness/conform/rig.ts';
import type { Rig } from '../../harness/conform/rig-types.ts';
import { nonce, outFrame, inFrame } from '../../harness/conform/packets.ts';
import { fail, pass, skip, warn, type Check, type CheckContext } from '../../harness/conform/types.ts';
import { sleep } from '../../harness/conform/wait.ts';
import { NET_FEATURE_REQUIRES } from '../../harness/virtio/device/net-features.ts';
import { F, bit, featureNames, has } from '../../harness/virtio/features.ts';
import { VIRTIO_STATUS } from '../../harness/virtio/layout.ts';
import { QUIET_MS, USE_MS, V1, captured, laneOf, postRx, send, txBuffer, v1 } from './common.ts';

const name = (b: number) => featureNames(bit(b))[0];
const ALL_OK = VIRTIO_STATUS.ACKNOWLEDGE | VIRTIO_STATUS.DRIVER | VIRTIO_STATUS.FEATURES_OK | VIRTIO_STATUS.DRIVER_OK;

/** Offered features whose §5.1.3.1 prerequisites are missing from `set`. */
function missingPrereqs(set: bigint): string[] {
  return NET_FEATURE_REQUIRES.filter((r) => has(set, r.feature) && !r.anyOf.some((b) => has(set, b))).map(
    (r) => `${name(r.feature)} without ${r.anyOf.map(name).join(' or ')}`,
  );
}

/** The largest valid subset of `set`: features whose prerequisites are missing removed, repeatedly. */
function validClosure(set: bigint): bigint {
  let s = set;
  for (;;) {
    const bad = NET_FEATURE_REQUIRES.find((r) => has(s, r.feature) && !r.anyOf.some((b) => has(s, b)));
    if (!bad) return s;
    s &= ~bit(bad.feature);
  }
}

const F1: Check = {
  id: 'F1',
  group: 'F',
  section: '2.2.2, 5.1.3.1',
  level: 'MUST',
  title: 'No feature offered without its prerequisite',
  needs: {},
  async run(ctx) {
    const offered = ctx.deviceOffered & ~VHOST_ONLY_BITS;
    const bad = missingPrereqs(offered);
    const list = featureNames(offered).join(', ');
    if (bad.length) return fail(`expected every offered feature's prerequisite (§5.1.3.1) to be offered too; observed ${bad.join('; ')} (offered: ${list})`);
    return pass(`${NET_FEATURE_REQUIRES.length} prerequisite rules hold for the ${featureNames(offered).length} offered virtio features (${list}; vhost bits 26/27/30 masked)`);
  },
};

const F2: Check = {
  id: 'F2',
  group: 'F',
  section: '6.2',
  level: 'MUST',
  title: 'VIRTIO_F_VERSION_1 offered',
  needs: {},
  async run(ctx) {
    return has(ctx.deviceOffered, F.F_VERSION_1)
      ? pass(`VERSION_1 (bit 32) offered (features 0x${ctx.deviceOffered.toString(16)})`)
      : fail(`expected bit 32 (VERSION_1) in the offered features; observed 0x${ctx.deviceOffered.toString(16)}`);
  },
};

interface SubsetOutcome {
  label: string;
  result: 'works' | 'refused' | 'accepted-but-dead';
  detail: string;
}

/** Negotiate `features`, then transmit one frame: refused cleanly, or accepted and working? */
async function trySubset(ctx: CheckContext, label: string, features: bigint): Promise<SubsetOutcome> {
  let rig: Rig;
  try {
    rig = await ctx.open({ features, size: 64, memBytes: 1 << 20 });
  } catch (err) {
    if (err instanceof DeviceRejectedError) return { label, result: 'refused', detail: err.message };
    throw err;
  }
  const st = rig.up.statusAfterFeaturesOk;
  if (st !== undefined && !(st & VIRTIO_STATUS.FEATURES_OK)) {
    await rig.close();
    return { label, result: 'refused', detail: `FEATURES_OK not set (status 0x${st.toString(16)})` };
  }
  const n = nonce();
  ctx.wire?.drain();
  const id = send(rig, [txBuffer(rig, outFrame(n))]);
  const used = await laneOf(rig, 1).waitFor(id, USE_MS);
  const seen = ctx.wire ? await captured(ctx.wire, n, used ? 1000 : 10) : undefined;
  await rig.close();
  if (!used) return { label, result: 'accepted-but-dead', detail: `features accepted (status ${st === undefined ? 'n/a' : `0x${st.toString(16)}`}) but a TX buffer was not returned within ${USE_MS} ms` };
  if (ctx.wire && !seen) return { label, result: 'accepted-but-dead', detail: 'features accepted, TX buffer returned, but the frame never reached the far end' };
  return { label, result: 'works', detail: `${rig.kind} rings, frame transmitted` };
}

const F3: Check = {
  id: 'F3',
  group: 'F',
  section: '2.2.2',
  level: 'MUST',
  title: 'Valid feature subsets accepted (else FEATURES_OK refused)',
  needs: {},
  timeoutMs: 20_000,
  async run(ctx) {
    const offered = ctx.offered & ~VHOST_ONLY_BITS;
    const candidates: [string, bigint][] = [
      ['VERSION_1', V1],
      ['VERSION_1+MRG_RXBUF', v1(F.NET_F_MRG_RXBUF)],
      ['VERSION_1+INDIRECT_DESC+EVENT_IDX', v1(F.F_INDIRECT_DESC, F.F_EVENT_IDX)],
      ['VERSION_1+RING_PACKED', v1(F.F_RING_PACKED)],
      ['every offered feature with its prerequisites', validClosure(offered)],
    ];
    const seen = new Set<bigint>();
    const outcomes: SubsetOutcome[] = [];
    for (const [label, set] of candidates) {
      if ((set & ~offered) !== 0n || seen.has(set) || !has(set, F.F_VERSION_1)) continue;
      seen.add(set);
      outcomes.push(await trySubset(ctx, label, set));
    }
    const line = outcomes.map((o) => `${o.label}: ${o.result} (${o.detail})`).join('; ');
    if (outcomes.some((o) => o.result === 'accepted-but-dead')) {
      return fail(`expected each valid subset to be accepted and work, or FEATURES_OK refused; observed ${line}`);
    }
    if (outcomes.some((o) => o.result === 'refused')) return warn(`expected every valid subset accepted (SHOULD); observed a refusal, cleanly signalled: ${line}`);
    return pass(`${outcomes.length} valid subsets accepted and working: ${line}`);
  },
};

/** What the device did with buffers it should not touch yet (or any more): posted, kicked, watched. */
interface Quiet {
  /** The TX buffer's id. */
  id: number;
  /** What was used, written, notified or transmitted. */
  touched: string[];
  /** The stimulus, for evidence. */
  stim: string;
}

/** Post 4 RX buffers and 1 TX buffer, kick both rings, inject a frame, watch QUIET_MS. */
async function provoke(ctx: CheckContext, rig: Rig): Promise<Quiet> {
  const txUsedBefore = laneOf(rig, 1).returned.length;
  const rxUsedBefore = laneOf(rig, 0).returned.length;
  rig.tx().takeCalls();
  rig.rx().takeCalls();
  const rx = postRx(rig, 4, 2048);
  const n = nonce();
  ctx.wire?.drain();
  const id = send(rig, [txBuffer(rig, outFrame(n))]);
  ctx.wire?.inject(inFrame(nonce(), 100));
  await sleep(QUIET_MS);
  laneOf(rig, 1).takeUsed();
  laneOf(rig, 0).takeUsed();
  const touched: string[] = [];
  const txUsed = laneOf(rig, 1).returned.length - txUsedBefore;
  const rxUsed = laneOf(rig, 0).returned.length - rxUsedBefore;
  if (txUsed) touched.push(`${txUsed} TX buffer(s) used`);
  if (rxUsed) touched.push(`${rxUsed} RX buffer(s) used`);
  const written = rx.filter((b) => rig.bytes(b.addr, b.len).some((x) => x !== 0xa5)).length;
  if (written) touched.push(`${written} RX buffer(s) written`);
  const calls = rig.tx().takeCalls() + rig.rx().takeCalls();
  if (calls) touched.push(`${calls} used-buffer notification(s)`);
  if (ctx.wire && (await captured(ctx.wire, n, 50))) touched.push('the TX frame reached the far end');
  return { id, touched, stim: `4 RX buffers + 1 TX buffer posted and kicked${ctx.wire ? ', 1 frame injected' : ''}, watched ${QUIET_MS} ms` };
}

const F4: Check = {
  id: 'F4',
  group: 'F',
  section: '2.1.2',
  level: 'MUST',
  title: 'No buffer use or notification before DRIVER_OK (vhost-user: before the ring starts)',
  needs: {},
  cannot: { 'vhost-net': 'vhost-net has no DRIVER_OK: rings run as soon as a backend is attached' },
  async run(ctx) {
    return ctx.transport === 'vhost-user' ? beforeRingStart(ctx) : beforeDriverOk(ctx);
  },
};

/** virtio §2.1.2 / §3.1.1: nothing happens until the driver sets DRIVER_OK. */
async function beforeDriverOk(ctx: CheckContext) {
  const rig = await ctx.open({ features: V1, driverOk: false });
  if (!rig.session.supports('status').ok) return skip(`the back-end cannot see DRIVER_OK: ${(rig.session.supports('status') as { reason: string }).reason}`);
  const q = await provoke(ctx, rig);
  // Sensitivity: with DRIVER_OK the same buffer must now be used.
  await rig.session.setStatus(ALL_OK);
  await rig.session.getFeatures();
  rig.tx().kick();
  const after = laneOf(rig, 1).returned.some((u) => u.id === q.id) ? 'already used' : (await laneOf(rig, 1).waitFor(q.id, USE_MS)) ? 'used' : 'still not used';
  const stim = `status ACK|DRIVER|FEATURES_OK, ${q.stim}`;
  if (q.touched.length) return fail(`expected no buffer use or notification before DRIVER_OK; observed ${q.touched.join(', ')} (${stim})`);
  return pass(`${stim}: nothing used, no notification; after DRIVER_OK the TX buffer was ${after}`);
}

/**
 * vhost-user: a ring is stopped until SET_VRING_KICK starts it, and a stopped ring is not processed
 * (vhost-user.rst "Ring states"). SET_STATUS only forwards the virtio status, and QEMU sends
 * DRIVER_OK after the kicks, so use between the kick and DRIVER_OK is allowed (and noted).
 */
async function beforeRingStart(ctx: CheckContext) {
  const rig = await ctx.open({ features: V1, driverOk: false, startRings: false });
  const q = await provoke(ctx, rig);
  const stim = `rings set up without SET_VRING_KICK, ${q.stim}`;
  if (q.touched.length) return fail(`expected no ring processing before SET_VRING_KICK starts the ring (vhost-user.rst "Ring states"); observed ${q.touched.join(', ')} (${stim})`);
  // Sensitivity: once started the ring must move (the kick is injected, as front-ends SHOULD).
  await rig.startRings();
  rig.tx().kick();
  let started = 'SET_VRING_KICK';
  let used = await laneOf(rig, 1).waitFor(q.id, USE_MS);
  if (!used && rig.session.supports('status').ok) {
    await rig.session.setStatus(ALL_OK);
    await rig.session.getFeatures();
    rig.tx().kick();
    started = 'SET_STATUS(DRIVER_OK), which the device waits for (allowed)';
    used = await laneOf(rig, 1).waitFor(q.id, USE_MS);
  }
  return pass(`${stim}: nothing used, no notification; the TX buffer was ${used ? `used after ${started}` : 'still not used after SET_VRING_KICK and DRIVER_OK'}`);
}

const F5: Check = {
  id: 'F5',
  group: 'F',
  section: '2.4.1',
  level: 'MUST',
  title: 'After reset, no notifications or queue access (vhost-user: after GET_VRING_BASE)',
  needs: {},
  async run(ctx) {
    const rig = await ctx.open({ features: V1 });
    const s = rig.session;
    // First show the device works.
    const n1 = nonce();
    const id1 = send(rig, [txBuffer(rig, outFrame(n1))]);
    if (!(await laneOf(rig, 1).waitFor(id1, USE_MS))) return fail(`expected the TX buffer used before the reset (the device working); observed it not used within ${USE_MS} ms`);
    let how: string;
    if (s.transport === 'vhost-user') {
      // vhost-user: GET_VRING_BASE stops a ring; QEMU stops each ring so, then resets (vhost_dev_stop).
      const bases = [];
      for (const q of rig.queues) bases.push(`${q.index}→${await s.getVringBase(q.index)}`);
      how = `GET_VRING_BASE on every ring (next avail index ${bases.join(', ')})`;
      if (s.supports('resetDevice').ok) how += `, then ${await s.reset()}`;
      else if (s.supports('status').ok) {
        await s.setStatus(0);
        how += ', then SET_STATUS(0)';
      }
    } else if (s.transport === 'vhost-net') {
      how = await s.reset();
    } else {
      await s.setStatus(0);
      how = 'status 0';
    }
    const status = s.supports('status').ok ? await s.getStatus().catch(() => undefined) : undefined;
    const q = await provoke(ctx, rig);
    const problems = [...q.touched];
    if (status !== undefined && status !== 0 && s.transport !== 'vhost-user') problems.push(`device status reads 0x${status.toString(16)} after the reset, not 0`);
    const stim = `stopped by ${how}; then ${q.stim}`;
    if (problems.length) return fail(`expected no queue access or notification after the ${s.transport === 'vhost-user' ? 'rings were stopped' : 'reset'}; observed ${problems.join(', ')} (${stim})`);
    return pass(`${stim}: rings untouched, no notification${status !== undefined ? `, status 0x${status.toString(16)}` : ''}`);
  },
};

export const FEATURE_CHECKS: Check[] = [F1, F2, F3, F4, F5];
