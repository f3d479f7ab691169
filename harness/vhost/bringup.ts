// The canonical bring-up and teardown sequences, as QEMU performs them, over a DeviceSession.
// vhost-user (vhost-user.rst; order constraints from DPDK lib/vhost/vhost_user.c):
//   GET_FEATURES → [GET/SET_PROTOCOL_FEATURES → GET_QUEUE_NUM] → SET_OWNER → SET_FEATURES (before
//   any ring: DPDK picks split/packed from it) → SET_MEM_TABLE → per ring NUM, BASE, ADDR, KICK
//   (DPDK translates the ring at KICK, so ADDR first), CALL → SET_VRING_ENABLE → SET_STATUS.
// vhost-net (tools/virtio/vhost_net_test.c): SET_OWNER → GET_FEATURES → SET_MEM_TABLE →
//   SET_FEATURES → per ring NUM, BASE, ADDR, KICK, CALL; the caller attaches backends afterwards.
// The conformance suite varies these on purpose; everything else should use them as they are.
import type { GuestMemory } from '../virtio/memory.ts';
import { F, bit, has } from '../virtio/features.ts';
import { VIRTIO_STATUS } from '../virtio/layout.ts';
import { ProtocolFeature } from './vhost-user-codec.ts';
import type { DeviceSession } from './session.ts';

export interface RingSetup {
  index: number;
  num: number;
  /** Guest-physical addresses of the three areas. */
  desc: bigint;
  avail: bigint;
  used: bigint;
  /** eventfd the driver writes to notify the device; null = none (device polls). */
  kickFd: number | null;
  /** eventfd the device writes to interrupt the driver; null = none. */
  callFd: number | null;
  /** First avail index (default 0). */
  base?: number;
  /** false: leave SET_VRING_KICK out, so a vhost-user ring stays stopped (conformance F4). */
  startRing?: boolean;
}

export interface BringUpPlan {
  /** Virtio features the driver wants; intersected with what the device offers. */
  features: bigint;
  /** vhost-user protocol features the driver wants (default MQ, REPLY_ACK, RESET_DEVICE, STATUS). */
  protocolFeatures?: bigint;
  memory: GuestMemory;
  rings: RingSetup[];
  /** Rings to enable (default: all in `rings`). */
  enable?: number[];
  /** Send DRIVER_OK at the end when STATUS is negotiated (default true). */
  driverOk?: boolean;
}

export interface BringUpResult {
  offered: bigint;
  acked: bigint;
  protocolOffered?: bigint;
  protocolAcked?: bigint;
  queueNum?: number;
  /** Device status read back after FEATURES_OK, when STATUS is negotiated. */
  statusAfterFeaturesOk?: number;
  durationMs: number;
}

export const DEFAULT_PROTOCOL =
  bit(ProtocolFeature.MQ) | bit(ProtocolFeature.REPLY_ACK) | bit(ProtocolFeature.RESET_DEVICE) | bit(ProtocolFeature.STATUS);

const { ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK } = VIRTIO_STATUS;

export async function bringUp(s: DeviceSession, plan: BringUpPlan): Promise<BringUpResult> {
  const t0 = performance.now();
  const r = s.transport === 'vhost-user' ? await negotiateUser(s, plan) : await negotiateKernel(s, plan);
  for (const ring of plan.rings) await setupRing(s, ring);
  if (s.supports('ringEnable').ok && s.transport === 'vhost-user') {
    for (const i of plan.enable ?? plan.rings.map((x) => x.index)) await s.setVringEnable(i, true);
  }
  if (s.supports('status').ok && plan.driverOk !== false) {
    await s.setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
  }
  return { ...r, durationMs: Math.round((performance.now() - t0) * 10) / 10 };
}

async function negotiateUser(s: DeviceSession, plan: BringUpPlan): Promise<Omit<BringUpResult, 'durationMs'>> {
  const offered = await s.getFeatures();
  const out: Omit<BringUpResult, 'durationMs'> = { offered, acked: 0n };
  const protocol = has(offered, F.VHOST_USER_F_PROTOCOL_FEATURES);
  if (protocol) {
    out.protocolOffered = await s.getProtocolFeatures();
    out.protocolAcked = out.protocolOffered & (plan.protocolFeatures ?? DEFAULT_PROTOCOL);
    await s.setProtocolFeatures(out.protocolAcked);
    if (s.supports('queueNum').ok) out.queueNum = await s.getQueueNum();
  }
  await s.setOwner();
  if (s.supports('status').ok) await s.setStatus(ACKNOWLEDGE | DRIVER);
  // Bit 30 is a vhost-user bit, not a virtio one: ack it whenever offered to get ring enable control.
  out.acked = (offered & plan.features) | (protocol ? bit(F.VHOST_USER_F_PROTOCOL_FEATURES) : 0n);
  await s.setFeatures(out.acked);
  if (s.supports('status').ok) {
    await s.setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK);
    out.statusAfterFeaturesOk = await s.getStatus();
  }
  await s.setMemTable(plan.memory);
  return out;
}

async function negotiateKernel(s: DeviceSession, plan: BringUpPlan): Promise<Omit<BringUpResult, 'durationMs'>> {
  await s.setOwner();
  const offered = await s.getFeatures();
  await s.setMemTable(plan.memory);
  const acked = offered & plan.features;
  await s.setFeatures(acked);
  return { offered, acked };
}

async function setupRing(s: DeviceSession, r: RingSetup): Promise<void> {
  await s.setVringNum(r.index, r.num);
  await s.setVringBase(r.index, r.base ?? 0);
  await s.setVringAddr({ index: r.index, desc: r.desc, avail: r.avail, used: r.used });
  // KICK starts a vhost-user ring (vhost-user.rst "Ring states"); QEMU sends it before CALL.
  if (r.startRing !== false) await s.setVringKick(r.index, r.kickFd);
  await s.setVringCall(r.index, r.callFd);
}

/** Stop every ring (GET_VRING_BASE returns where the device stopped), then reset. */
export async function tearDown(s: DeviceSession, rings: number[]): Promise<{ bases: Record<number, number>; reset: string }> {
  const bases: Record<number, number> = {};
  for (const i of rings) bases[i] = await s.getVringBase(i);
  const reset = await s.reset();
  return { bases, reset };
}
