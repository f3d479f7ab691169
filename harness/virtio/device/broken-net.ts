// Deliberately broken variants of the reference virtio-net device, one fault each, so the
// conformance suite can prove that each of its checks can fail (and that only the matching one
// does). Each overrides a single hook of ReferenceNetDevice.

import { F, has } from '../features.ts';
import type { DescChain } from './chain.ts';
import type { DeviceMemory } from './device-memory.ts';
import { PackedDeviceQueue } from './packed-queue.ts';
import { queueFeatures, type DeviceQueue, type DeviceQueueConfig } from './queue.ts';
import { ReferenceNetDevice, type ReferenceNetOptions } from './reference-net.ts';
import { SplitDeviceQueue } from './split-queue.ts';

/** S5 (§2.7.8): reports the buffer's writable capacity as used.len instead of the bytes written. */
export class WrongUsedLenDevice extends ReferenceNetDevice {
  protected override usedLen(chain: DescChain, _written: number): number {
    return chain.writable.totalLen;
  }
}

/** N2/N4 (§2.7.7.2, §2.8.10): notifies after every used update, ignoring NO_INTERRUPT / used_event. */
export class NotifyWhileSuppressedDevice extends ReferenceNetDevice {
  protected override shouldCall(q: DeviceQueue): boolean {
    q.needsNotify(); // keep the queue's bookkeeping as the reference does; ignore the answer
    return true;
  }
}

/** S1 (§2.7.5.1, §2.8.15): flips one byte of every TX buffer it reads (a device-readable buffer). */
export class WritesReadableDevice extends ReferenceNetDevice {
  private readonly scratch = new Uint8Array(1);

  protected override afterTransmit(_q: DeviceQueue, chain: DescChain): void {
    const list = chain.readable;
    // The first frame byte (after the 12-byte header), or the last byte of a header-only buffer.
    const at = Math.min(12, list.totalLen - 1);
    list.gather(this.scratch, 0, at);
    this.scratch[0] ^= 0xff;
    list.scatter(this.scratch, at);
  }
}

/** Split ring whose published used.idx wraps at the queue size instead of at 2^16. */
class WrappingUsedIdxQueue extends SplitDeviceQueue {
  protected override publishUsedIdx(idx: number): void {
    super.publishUsedIdx(idx % this.size);
  }
}

/** S7 (§2.7.8): used.idx wraps at the ring size. Split rings only (packed rings have no used.idx). */
export class WrapsUsedIdxDevice extends ReferenceNetDevice {
  protected override createQueue(mem: DeviceMemory, cfg: DeviceQueueConfig, features: bigint): DeviceQueue {
    if (has(features, F.F_RING_PACKED)) return super.createQueue(mem, cfg, features);
    return new WrappingUsedIdxQueue(mem, cfg, queueFeatures(features));
  }
}

/** S6 (§2.7.8, §2.8.6): returns the first TX buffer it completes a second time. */
export class ReturnsChainTwiceDevice extends ReferenceNetDevice {
  private done = false;

  protected override afterTxPushes(q: DeviceQueue, id: number, descCount: number): void {
    if (this.done) return;
    this.done = true;
    if (q instanceof SplitDeviceQueue) q.pushUnchecked(id, 0);
    else if (q instanceof PackedDeviceQueue) q.pushUnchecked(id, 0, descCount);
  }
}

export const BROKEN_NET_DEVICES = {
  'wrong-used-len': WrongUsedLenDevice,
  'notify-while-suppressed': NotifyWhileSuppressedDevice,
  'writes-readable': WritesReadableDevice,
  'wraps-used-idx': WrapsUsedIdxDevice,
  'returns-chain-twice': ReturnsChainTwiceDevice,
} as const;

export type NetFault = keyof typeof BROKEN_NET_DEVICES;

export function brokenNetDevice(fault: NetFault, options?: ReferenceNetOptions): ReferenceNetDevice {
  return new BROKEN_NET_DEVICES[fault](options);
}
