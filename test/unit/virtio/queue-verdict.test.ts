// Which side dropped a notification, from ring snapshots. The first case is the stall measured
// in the issue (HMP info virtio-queue-status + xp during a real stall under TCG).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeVerdicts, judgeQueue, type QueueSnapshot } from '../../../harness/virtio/queue-verdict.ts';

const tx: QueueSnapshot = {
  name: 'tx0',
  num: 256,
  eventIdx: true,
  availFlags: 0,
  availIdx: 52829,
  usedEvent: 52818,
  usedFlags: 0,
  usedIdx: 52789,
  availEvent: 52789,
  device: { lastAvailIdx: 52789, inuse: 0, signalledUsed: 52789, signalledUsedValid: true },
};

test('the measured TX stall: avail.idx passed avail_event, device idle -> a kick lost on the driver side', () => {
  const v = judgeQueue(tx, tx);
  assert.equal(v.kind, 'kick-lost');
  assert.equal(v.side, 'driver');
  assert.match(v.explanation, /avail\.idx=52829 passed the device's avail_event=52789/);
  assert.match(v.explanation, /40 buffer\(s\) waiting/);
});

test('a queue that moved between the snapshots is progressing, not stalled', () => {
  const later = { ...tx, usedIdx: 52795, device: { ...tx.device!, lastAvailIdx: 52795 } };
  assert.equal(judgeQueue(tx, later).kind, 'progressing');
  assert.equal(judgeQueue(tx, later).side, undefined);
});

test('nothing outstanding is idle; buffers in use are the device at work', () => {
  const idle = { ...tx, availIdx: 52789 };
  assert.equal(judgeQueue(idle, idle).kind, 'idle');
  const busy = { ...tx, device: { ...tx.device!, inuse: 3 } };
  assert.equal(judgeQueue(busy, busy).kind, 'progressing');
});

test('RX buffers posted before avail_event owe no kick (a quiet RX queue)', () => {
  // The device asked to hear at 1000 and the driver has posted up to 900: nothing owed.
  const rx: QueueSnapshot = { ...tx, name: 'rx0', availIdx: 900, availEvent: 1000, usedIdx: 700, usedEvent: 700, device: { lastAvailIdx: 700, inuse: 0, signalledUsed: 700, signalledUsedValid: true } };
  const v = judgeQueue(rx, rx);
  assert.equal(v.kind, 'waiting-for-driver');
  assert.equal(v.side, undefined);
});

test('indices wrap at 2^16: a kick owed across the wrap is still found', () => {
  const w = { ...tx, availIdx: 5, availEvent: 65530, usedIdx: 65530, usedEvent: 65535, device: { ...tx.device!, lastAvailIdx: 65530, signalledUsed: 65530 } };
  assert.equal(judgeQueue(w, w).kind, 'kick-lost');
});

test('device passed used_event without signalling -> device side; signalled but not consumed -> driver side', () => {
  const passed = { ...tx, availIdx: 52789, usedEvent: 52780, device: { ...tx.device!, signalledUsed: 52770 } };
  const v = judgeQueue(passed, passed);
  assert.equal(v.kind, 'interrupt-not-sent');
  assert.equal(v.side, 'device');
  const signalled = { ...passed, device: { ...passed.device!, signalledUsed: 52789 } };
  assert.equal(judgeQueue(signalled, signalled).kind, 'interrupt-not-taken');
  assert.equal(judgeQueue(signalled, signalled).side, 'driver');
});

test('a used_event parked half the ring away (interrupts disabled) owes no interrupt', () => {
  const parked = { ...tx, availIdx: 52789, usedEvent: (52789 + 0x8000) & 0xffff };
  assert.equal(judgeQueue(parked, parked).kind, 'idle');
});

test('without event index: NO_NOTIFY with work waiting is the device; notifications on with work waiting is a lost kick', () => {
  const flags = { ...tx, eventIdx: false, usedFlags: 1 };
  assert.equal(judgeQueue(flags, flags).kind, 'device-suppressed');
  assert.equal(judgeQueue(flags, flags).side, 'device');
  const open = { ...flags, usedFlags: 0 };
  assert.equal(judgeQueue(open, open).kind, 'kick-lost');
});

test('a vhost device (no QEMU bookkeeping) is judged from the rings alone', () => {
  const { device: _d, ...rings } = tx;
  assert.equal(judgeQueue(rings, rings).kind, 'kick-lost');
});

test('the one-line summary names the blamed queue, or says none is', () => {
  const idle = { ...tx, name: 'rx0', availIdx: 52789 };
  const line = describeVerdicts([judgeQueue(idle, idle), judgeQueue(tx, tx)]);
  assert.match(line, /^tx0: kick-lost \(driver side\)/);
  assert.match(describeVerdicts([judgeQueue(idle, idle)]), /^no lost notification in the virtio rings \(rx0: idle\)$/);
});
