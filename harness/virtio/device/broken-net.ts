// Deliberately broken variants of the reference virtio-net device, one fault each, so the
// conformance suite can prove that each of its checks can fail (and that only the matching one
// does). Each overrides hooks of ReferenceNetDevice and asks its FaultTrigger at each of its
// opportunities whether to misbehave there (always, only the first time, or once after N).

import { F, has } from '../features.ts';
import type { DescChain } from './chain.ts';
import type { DeviceMemory } from './device-memory.ts';
import { ALWAYS, FAULT_MODE_FORMS, FaultTrigger, faultModeName, parseFaultMode, type FaultMode } from './fault-trigger.ts';
import { PackedDeviceQueue } from './packed-queue.ts';
import { queueFeatures, type DeviceQueue, type DeviceQueueConfig, type QueueFeatures } from './queue.ts';
import { ReferenceNetDevice, type ReferenceNetOptions } from './reference-net.ts';
import { SplitDeviceQueue } from './split-queue.ts';

export interface BrokenNetOptions extends ReferenceNetOptions {
  /** When the fault fires; share one between every instance of one device under test (default: always). */
  trigger?: FaultTrigger;
}

/** A reference device with one fault and the trigger that decides where it fires. */
abstract class FaultyDevice extends ReferenceNetDevice {
  readonly trigger: FaultTrigger;

  constructor(options: BrokenNetOptions = {}) {
    super(options);
    this.trigger = options.trigger ?? new FaultTrigger(ALWAYS);
  }
}

/**
 * S5 (§2.7.8): used.len is the buffer's whole size instead of the bytes written. Opportunity: a TX
 * chain completed (reported as its readable length, not 0). In `always` mode every RX buffer is
 * also reported at its writable capacity.
 */
export class WrongUsedLenDevice extends FaultyDevice {
  protected override usedLen(chain: DescChain, written: number, dir: 'tx' | 'rx'): number {
    if (dir === 'rx') return this.trigger.mode.kind === 'always' ? chain.writable.totalLen : written;
    return this.trigger.fire() ? chain.readable.totalLen + chain.writable.totalLen : written;
  }
}

/** N2/N4 (§2.7.7.2, §2.8.10): notifies although the driver suppressed it. Opportunity: a suppressed notification. */
export class NotifyWhileSuppressedDevice extends FaultyDevice {
  protected override shouldCall(q: DeviceQueue, returned: boolean): boolean {
    if (q.needsNotify()) return true;
    return returned && this.trigger.fire();
  }
}

/** N1/N3 (§2.7.7.2): no used-buffer notification although one is due. Opportunity: a due notification. */
export class NoNotifyDevice extends FaultyDevice {
  protected override shouldCall(q: DeviceQueue, returned: boolean): boolean {
    return super.shouldCall(q, returned) && !this.trigger.fire();
  }
}

/** S1 (§2.7.5.1, §2.8.15): flips one byte of a TX buffer it reads (a device-readable buffer). Opportunity: a TX chain completed. */
export class WritesReadableDevice extends FaultyDevice {
  private readonly scratch = new Uint8Array(1);

  protected override afterTransmit(_q: DeviceQueue, chain: DescChain): void {
    if (!this.trigger.fire()) return;
    const list = chain.readable;
    // The first frame byte (after the 12-byte header), or the last byte of a header-only buffer.
    const at = Math.min(12, list.totalLen - 1);
    list.gather(this.scratch, 0, at);
    this.scratch[0] ^= 0xff;
    list.scatter(this.scratch, at);
  }
}

/** Split ring whose published used.idx wraps at the queue size instead of at 2^16 (when its trigger fires). */
class WrappingUsedIdxQueue extends SplitDeviceQueue {
  constructor(
    mem: DeviceMemory,
    cfg: DeviceQueueConfig,
    features: QueueFeatures,
    private readonly trigger: FaultTrigger,
  ) {
    super(mem, cfg, features);
  }

  /** Opportunity: a publish at or past the ring size (where wrapping at the size changes the value). */
  protected override publishUsedIdx(idx: number): void {
    super.publishUsedIdx(idx >= this.size && this.trigger.fire() ? idx % this.size : idx);
  }
}

/** S7 (§2.7.8): used.idx wraps at the ring size. Split rings only (packed rings have no used.idx). */
export class WrapsUsedIdxDevice extends FaultyDevice {
  protected override createQueue(mem: DeviceMemory, cfg: DeviceQueueConfig, features: bigint): DeviceQueue {
    if (has(features, F.F_RING_PACKED)) return super.createQueue(mem, cfg, features);
    return new WrappingUsedIdxQueue(mem, cfg, queueFeatures(features), this.trigger);
  }
}

/** S6 (§2.7.8, §2.8.6): returns a TX buffer a second time. Opportunity: a TX chain completed. */
export class ReturnsChainTwiceDevice extends FaultyDevice {
  /** Chains of the current drain to return again: id, descriptor count. */
  private again: number[] = [];

  protected override afterTransmit(_q: DeviceQueue, chain: DescChain): void {
    if (this.trigger.fire()) this.again.push(chain.id, chain.descCount);
  }

  protected override afterTxPushes(q: DeviceQueue): void {
    for (let k = 0; k < this.again.length; k += 2) {
      if (q instanceof SplitDeviceQueue) q.pushUnchecked(this.again[k], 0);
      else if (q instanceof PackedDeviceQueue) q.pushUnchecked(this.again[k], 0, this.again[k + 1]);
    }
    this.again = [];
  }
}

/**
 * S8 (§2.7.6 derived: consume only entries below avail.idx): after a TX drain, returns the avail
 * ring slot at last_avail_idx (not published by the driver) as used. Opportunity: a TX chain
 * completed on a split ring (packed rings have no avail.idx; there nothing happens and nothing counts).
 */
export class BeyondAvailDevice extends FaultyDevice {
  private due = false;

  protected override afterTransmit(q: DeviceQueue): void {
    if (q instanceof SplitDeviceQueue && this.trigger.fire()) this.due = true;
  }

  protected override afterTxPushes(q: DeviceQueue): void {
    if (this.due && q instanceof SplitDeviceQueue) q.pushBeyondAvail(0);
    this.due = false;
  }
}

class IndirectWriteSplitQueue extends SplitDeviceQueue {
  constructor(
    mem: DeviceMemory,
    cfg: DeviceQueueConfig,
    features: QueueFeatures,
    private readonly trigger: FaultTrigger,
  ) {
    super(mem, cfg, features);
  }

  protected override honoursIndirectWrite(): boolean {
    return this.trigger.fire();
  }
}

class IndirectWritePackedQueue extends PackedDeviceQueue {
  constructor(
    mem: DeviceMemory,
    cfg: DeviceQueueConfig,
    features: QueueFeatures,
    private readonly trigger: FaultTrigger,
  ) {
    super(mem, cfg, features);
  }

  protected override honoursIndirectWrite(): boolean {
    return this.trigger.fire();
  }
}

/**
 * I1/I3 (§2.7.5.3.2, §2.8.7): WRITE on a descriptor with INDIRECT is applied to its whole table
 * instead of ignored. Opportunity: a ring descriptor with INDIRECT|WRITE. A TX chain so read has
 * no device-readable header or frame: the device uses it with len 0 and sends nothing (a frame
 * silently lost, rather than a device that stops: the check sees exactly the fault).
 */
export class HonoursIndirectWriteDevice extends FaultyDevice {
  /** TX chains used unsent because they had nothing device-readable. */
  unsent = 0;

  protected override createQueue(mem: DeviceMemory, cfg: DeviceQueueConfig, features: bigint): DeviceQueue {
    const flags = queueFeatures(features);
    return has(features, F.F_RING_PACKED) ? new IndirectWritePackedQueue(mem, cfg, flags, this.trigger) : new IndirectWriteSplitQueue(mem, cfg, flags, this.trigger);
  }

  protected override unreadableTx(qi: number, chain: DescChain): boolean {
    if (!chain.indirect) return super.unreadableTx(qi, chain);
    this.unsent++;
    return true;
  }
}

/** H2 (§5.1.6.4.1): num_buffers left as the buffer held it. Opportunity: an RX packet delivered with MRG_RXBUF negotiated. */
export class NumBuffersUnwrittenDevice extends FaultyDevice {
  protected override writesNumBuffers(): boolean {
    return !this.trigger.fire();
  }
}

export const BROKEN_NET_DEVICES = {
  'wrong-used-len': WrongUsedLenDevice,
  'notify-while-suppressed': NotifyWhileSuppressedDevice,
  'writes-readable': WritesReadableDevice,
  'wraps-used-idx': WrapsUsedIdxDevice,
  'returns-chain-twice': ReturnsChainTwiceDevice,
  'beyond-avail': BeyondAvailDevice,
  'honours-indirect-write': HonoursIndirectWriteDevice,
  'num-buffers-unwritten': NumBuffersUnwrittenDevice,
  'no-notify': NoNotifyDevice,
} as const;

export type NetFault = keyof typeof BROKEN_NET_DEVICES;

export const NET_FAULTS = Object.keys(BROKEN_NET_DEVICES) as NetFault[];

/** The catalogue requirements each fault violates (the checks that must catch it). */
export const FAULT_REQUIREMENT: Readonly<Record<NetFault, readonly string[]>> = {
  'wrong-used-len': ['S5'],
  'notify-while-suppressed': ['N2', 'N4'],
  'writes-readable': ['S1'],
  'wraps-used-idx': ['S7'],
  'returns-chain-twice': ['S6'],
  'beyond-avail': ['S8'],
  'honours-indirect-write': ['I1'],
  'num-buffers-unwritten': ['H2'],
  'no-notify': ['N1', 'N3'],
};

export interface FaultSpec {
  fault: NetFault;
  mode: FaultMode;
}

export const FAULT_SPEC_FORMS = `FAULT[@MODE] with FAULT one of ${NET_FAULTS.join(', ')} and MODE one of ${FAULT_MODE_FORMS}; default always`;

/** Parse "FAULT", "FAULT@first", "FAULT@after:N" (pure; throws an Error saying what is wrong and the accepted forms). */
export function parseFaultSpec(text: string): FaultSpec {
  const at = text.indexOf('@');
  const name = at < 0 ? text : text.slice(0, at);
  const bad = (why: string) => new Error(`fault ${JSON.stringify(text)}: ${why}; accepted: ${FAULT_SPEC_FORMS}`);
  if (!(NET_FAULTS as string[]).includes(name)) throw bad(name ? `unknown fault "${name}"` : 'no fault named before "@"');
  if (at < 0) return { fault: name as NetFault, mode: ALWAYS };
  const modeText = text.slice(at + 1);
  const mode = parseFaultMode(modeText);
  if (!mode) throw bad(modeText ? `unknown mode "${modeText}"` : 'no mode after "@"');
  return { fault: name as NetFault, mode };
}

/** The spec as written: "wrong-used-len", "no-notify@first", "beyond-avail@after:3" (always is implied). */
export function faultSpecName(spec: FaultSpec): string {
  return spec.mode.kind === 'always' ? spec.fault : `${spec.fault}@${faultModeName(spec.mode)}`;
}

export function brokenNetDevice(fault: NetFault, options?: BrokenNetOptions): ReferenceNetDevice {
  return new BROKEN_NET_DEVICES[fault](options);
}
