// Which side dropped a notification on a stalled split virtqueue. Pure: it reads two snapshots
// of one queue taken a moment apart (guest-memory ring fields, plus the device's own indices
// when the device is QEMU's userspace virtio) and applies the suppression rules of virtio 1.2
// §2.7.7 (flags) and §2.7.10 (event index: notify iff the index crossed the other side's event).
import { VIRTQ_USED_F_NO_NOTIFY } from './layout.ts';

/** One queue as seen at one moment. Ring fields are the guest-memory values (split ring). */
export interface QueueSnapshot {
  name: string;
  num: number;
  eventIdx: boolean;
  availFlags: number;
  availIdx: number;
  /** Driver's used_event (after avail.ring[num]); meaningful with eventIdx. */
  usedEvent: number;
  usedFlags: number;
  usedIdx: number;
  /** Device's avail_event (after used.ring[num]); meaningful with eventIdx. */
  availEvent: number;
  /** QEMU's own bookkeeping (userspace virtio only; absent for vhost devices). */
  device?: { lastAvailIdx: number; inuse: number; signalledUsed: number; signalledUsedValid: boolean };
}

export type QueueVerdictKind =
  | 'idle' // nothing available that the device has not taken
  | 'progressing' // the device consumed or returned buffers between the snapshots
  | 'waiting-for-driver' // buffers posted, nothing owed either way (an RX queue with no packets)
  | 'kick-lost' // driver -> device notification due and not acted on
  | 'device-suppressed' // device has buffers, notifications off, and does not process them
  | 'interrupt-not-sent' // device passed the driver's used_event without signalling
  | 'interrupt-not-taken'; // device signalled, driver has not consumed

export interface QueueVerdict {
  queue: string;
  kind: QueueVerdictKind;
  /** The side whose notification went missing, when one did. */
  side?: 'driver' | 'device';
  explanation: string;
}

const mod16 = (x: number) => x & 0xffff;
/** e lies in [from, to) on the 16-bit index circle. */
const within = (e: number, from: number, to: number) => mod16(e - from) < mod16(to - from);

export function judgeQueue(first: QueueSnapshot, second: QueueSnapshot): QueueVerdict {
  const q = second;
  const v = (kind: QueueVerdictKind, explanation: string, side?: 'driver' | 'device'): QueueVerdict => ({
    queue: q.name,
    kind,
    ...(side ? { side } : {}),
    explanation,
  });
  // What the device has taken: its own index when known, else what it returned.
  const taken = (s: QueueSnapshot) => s.device?.lastAvailIdx ?? s.usedIdx;
  if (taken(first) !== taken(second) || first.usedIdx !== second.usedIdx) {
    return v('progressing', `device moved from taken=${taken(first)} used.idx=${first.usedIdx} to taken=${taken(second)} used.idx=${second.usedIdx}`);
  }
  const last = taken(q);
  const pending = mod16(q.availIdx - last);
  const busy = (q.device?.inuse ?? 0) > 0;

  // Device -> driver: has the device passed the point at which the driver asked for an interrupt?
  if (q.eventIdx && q.usedIdx !== q.usedEvent && within(q.usedEvent, mod16(q.usedIdx - q.num), q.usedIdx)) {
    const d = q.device;
    if (d?.signalledUsedValid && within(q.usedEvent, d.signalledUsed, q.usedIdx)) {
      return v(
        'interrupt-not-sent',
        `used.idx=${q.usedIdx} passed the driver's used_event=${q.usedEvent} but the device last signalled at ${d.signalledUsed}`,
        'device',
      );
    }
    if (d?.signalledUsedValid) {
      return v(
        'interrupt-not-taken',
        `the device signalled used.idx=${d.signalledUsed} past used_event=${q.usedEvent}; the driver has not consumed (used_event unchanged)`,
        'driver',
      );
    }
  }
  if (pending === 0) return v('idle', `avail.idx=${q.availIdx} equals what the device took (${last}); nothing outstanding`);
  if (busy) return v('progressing', `${q.device?.inuse} buffer(s) in use by the device`);

  // Driver -> device: was a kick due for what the driver published?
  if (q.eventIdx) {
    if (within(q.availEvent, last, q.availIdx)) {
      return v(
        'kick-lost',
        `avail.idx=${q.availIdx} passed the device's avail_event=${q.availEvent} (device took ${last}, ${pending} buffer(s) waiting, ` +
          `none in use): the driver owed a kick and the device never acted on one`,
        'driver',
      );
    }
    return v('waiting-for-driver', `${pending} buffer(s) posted before avail_event=${q.availEvent}; no kick owed (the device takes them when it needs them)`);
  }
  if (q.usedFlags & VIRTQ_USED_F_NO_NOTIFY) {
    return v('device-suppressed', `used.flags has NO_NOTIFY with ${pending} buffer(s) waiting and none in use`, 'device');
  }
  return v('kick-lost', `${pending} buffer(s) waiting, notifications enabled (used.flags=${q.usedFlags}), none in use: a kick was due`, 'driver');
}

/** One line for an error message: the queues that name a side, else that none does. */
export function describeVerdicts(verdicts: readonly QueueVerdict[]): string {
  const blamed = verdicts.filter((x) => x.side);
  if (!blamed.length) return `no lost notification in the virtio rings (${verdicts.map((x) => `${x.queue}: ${x.kind}`).join(', ')})`;
  return blamed.map((x) => `${x.queue}: ${x.kind} (${x.side} side): ${x.explanation}`).join('; ');
}
