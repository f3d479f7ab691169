// M1–M3: multiqueue and vhost-user ring enable (virtio v1.2-cs01 §5.1.6.5.6.2; the ring states of
// QEMU docs/interop/vhost-user.rst: a started but disabled ring supplies no RX packets and
// processes and discards TX packets). The control queue belongs to the front-end, so over
// vhost-user "number of queue pairs" reduces to which rings are enabled.
import { nonce, outFrame, udpFrame } from '../../harness/conform/packets.ts';
import type { Rig } from '../../harness/conform/rig-types.ts';
import { fail, pass, type Check } from '../../harness/conform/types.ts';
import { sleep } from '../../harness/conform/wait.ts';
import { QUIET_MS, USE_MS, V1, captured, postRx, txBuffer, type RxBuf } from './common.ts';

const NOT_HERE = {
  'vhost-net': 'vhost-net has no ring enable: one fd serves one queue pair, always enabled',
  'in-process': 'the in-process reference device has no per-ring enable (a vhost-user ring state)',
} as const;
const NEEDS = { pairs: 2, wire: 'inject' as const, ops: ['ringEnable' as const] };

/** Inject `count` UDP frames of distinct flows (source ports), so the far end spreads them over its queues. */
function flows(rig: Rig, count: number, first: number): void {
  for (let k = 0; k < count; k++) rig.wire!.inject(udpFrame({ nonce: nonce(), payload: 64, srcPort: first + k, dstPort: 5001 }).frame);
}

function touched(rig: Rig, bufs: RxBuf[]): number {
  return bufs.filter((b) => rig.bytes(b.addr, b.len).some((x) => x !== 0xa5)).length;
}

const M1: Check = {
  id: 'M1',
  group: 'M',
  section: '5.1.6.5.6.2, vhost-user ring states',
  level: 'MUST',
  title: 'RX only on enabled rings',
  needs: NEEDS,
  cannot: NOT_HERE,
  timeoutMs: 15_000,
  async run(ctx) {
    const rig = await ctx.open({ features: V1, pairs: 2, enable: [0, 1] });
    postRx(rig, 64, 2048, 0xa5, 0);
    const idle = postRx(rig, 16, 2048, 0xa5, 2);
    const q2 = rig.queues[2].split!;
    flows(rig, 64, 40000);
    await sleep(QUIET_MS * 2);
    const usedOn0 = rig.splitLane(0).takeUsed().length;
    const used2 = q2.usedIdx();
    const written2 = touched(rig, idle);
    if (used2 !== 0 || written2) return fail(`expected nothing on ring 2 (pair 1, set up but never enabled); observed used.idx ${used2}, ${written2} buffer(s) written, while ring 0 took ${usedOn0} of 64 flows`);
    // Sensitivity: enable pair 1; some of the same flows should now reach ring 2.
    await rig.session.setVringEnable(2, true);
    await rig.session.setVringEnable(3, true);
    flows(rig, 64, 40000);
    await sleep(QUIET_MS * 2);
    const after = q2.usedIdx();
    return pass(`pair 1 disabled: 64 flows → ${usedOn0} on ring 0, 0 on ring 2, its buffers untouched; after enabling pair 1 the same flows put ${after} on ring 2${after === 0 ? ' (so the far end never chose queue 1 for them: the check could not show it would see RX there)' : ''}`);
  },
};

const M2: Check = {
  id: 'M2',
  group: 'M',
  section: '5.1.6.5.6.2',
  level: 'MUST',
  title: 'After disabling a pair, no RX on its ring',
  needs: NEEDS,
  cannot: NOT_HERE,
  timeoutMs: 15_000,
  async run(ctx) {
    const rig = await ctx.open({ features: V1, pairs: 2 });
    postRx(rig, 64, 2048, 0xa5, 0);
    postRx(rig, 32, 2048, 0xa5, 2);
    flows(rig, 64, 41000);
    await sleep(QUIET_MS * 2);
    const before = rig.splitLane(2).takeUsed().length;
    // Shrink to one pair: SET_VRING_ENABLE 0 on rings 2 and 3, acknowledged (REPLY_ACK) before traffic.
    await rig.session.setVringEnable(2, false);
    await rig.session.setVringEnable(3, false);
    const q2 = rig.queues[2].split!;
    const idxAfterDisable = q2.usedIdx();
    const fresh = postRx(rig, 16, 2048, 0xa5, 2);
    flows(rig, 64, 41000);
    await sleep(QUIET_MS * 2);
    const moved = (q2.usedIdx() - idxAfterDisable) & 0xffff;
    const written = touched(rig, fresh);
    if (moved || written) return fail(`expected no RX on ring 2 after disabling pair 1; observed used.idx +${moved}, ${written} freshly posted buffer(s) written (before disabling it took ${before} of 64 flows)`);
    return pass(`both pairs enabled: ring 2 took ${before} of 64 flows; after SET_VRING_ENABLE(2/3, 0) the same flows put nothing on ring 2, 16 fresh buffers untouched${before === 0 ? ' (note: ring 2 got nothing even while enabled, so the far end never chose queue 1)' : ''}`);
  },
};

const M3: Check = {
  id: 'M3',
  group: 'M',
  section: 'vhost-user ring states',
  level: 'MUST',
  title: 'Disabled TX ring: buffers processed and discarded',
  needs: { pairs: 2, wire: 'capture' as const, ops: ['ringEnable' as const] },
  cannot: NOT_HERE,
  async run(ctx) {
    const rig = await ctx.open({ features: V1, pairs: 2, enable: [0, 1, 2] });
    const lane = rig.splitLane(3);
    const nonces: number[] = [];
    ctx.wire!.drain();
    for (let k = 0; k < 4; k++) {
      const n = nonce();
      nonces.push(n);
      lane.add([txBuffer(rig, outFrame(n, 100))]);
    }
    lane.kick();
    const used = await lane.waitUsed(4, USE_MS);
    let sent = 0;
    for (const n of nonces) if (await captured(ctx.wire!, n, 20)) sent++;
    const problems: string[] = [];
    if (used.length < 4) problems.push(`${4 - used.length} of 4 TX buffers never returned (not processed) within ${USE_MS} ms`);
    if (sent) problems.push(`${sent} of the frames were transmitted (not discarded)`);
    if (problems.length) return fail(`expected TX on disabled ring 3 processed and discarded; observed ${problems.join('; ')}`);
    return pass('4 TX buffers on disabled ring 3: all returned, none transmitted');
  },
};

export const MULTIQUEUE_CHECKS: Check[] = [M1, M2, M3];
