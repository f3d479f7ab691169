// Split ring, device side: used-buffer notification decisions (§2.7.7.2) and suppression of the
// driver's available-buffer notifications (§2.7.10.2).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SplitDeviceQueue } from '../../../../harness/virtio/device/split-queue.ts';
import { VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_WRITE } from '../../../../harness/virtio/layout.ts';
import { BUF, Ram, SplitRing } from './rings.ts';

function setup(eventIdx: boolean, startAt = 0) {
  const ram = new Ram();
  const ring = new SplitRing(ram, 8).startAt(startAt);
  for (let k = 0; k < 8; k++) ring.setDesc(k, BUF + 0x100 * k, 64, VIRTQ_DESC_F_WRITE);
  const q = new SplitDeviceQueue(ram.dm, ring.cfg, { eventIdx, indirect: false, inOrder: false });
  const chain = q.newChain();
  let next = 0;
  /** Offer, take and return one buffer; returns the notification decision after the flush. */
  const useOne = (): boolean => {
    ring.offer(next++ % 8);
    assert.equal(q.pop(chain).kind, 'chain');
    q.push(chain, 10);
    q.flush();
    return q.needsNotify();
  };
  return { ring, q, useOne };
}

describe('split device queue: used-buffer notifications', () => {
  it('without EVENT_IDX: notifies while flags = 0, not with NO_INTERRUPT', () => {
    const { ring, q, useOne } = setup(false);
    assert.equal(useOne(), true);
    ring.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    assert.equal(useOne(), false);
    ring.setAvailFlags(0);
    assert.equal(useOne(), true);
    assert.equal(q.needsNotify(), false, 'nothing new used since the last decision');
  });

  it('with EVENT_IDX: notifies exactly when used.idx passes used_event, ignoring flags bit 0', () => {
    const { ring, useOne } = setup(true);
    ring.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT); // must be ignored with EVENT_IDX
    ring.setUsedEvent(2); // notify when the entry at index 2 is written (used.idx 2 → 3)
    assert.deepEqual([useOne(), useOne(), useOne(), useOne()], [false, false, true, false]);
  });

  it('with EVENT_IDX: decides across the 2^16 wrap', () => {
    const { ring, useOne } = setup(true, 0xfffe);
    ring.setUsedEvent(0xffff);
    assert.deepEqual([useOne(), useOne(), useOne()], [false, true, false]);
    ring.setUsedEvent(1);
    assert.deepEqual([useOne(), useOne()], [true, false]);
  });

  it('with EVENT_IDX: a batch that jumps over used_event still notifies', () => {
    const { ring, q } = setup(true);
    ring.setUsedEvent(1);
    const chains = [q.newChain(), q.newChain(), q.newChain()];
    for (let k = 0; k < 3; k++) {
      ring.setDesc(k, BUF + 0x100 * k, 64, VIRTQ_DESC_F_WRITE);
      ring.offer(k);
      assert.equal(q.pop(chains[k]).kind, 'chain');
    }
    chains.forEach((c) => q.push(c, 1));
    q.flush();
    assert.equal(q.needsNotify(), true);
  });
});

describe('split device queue: suppressing driver kicks', () => {
  it('without EVENT_IDX: used.flags NO_NOTIFY while disabled, 0 when enabled', () => {
    const { ring, q } = setup(false);
    q.disableKicks();
    assert.equal(ring.usedFlags(), 1);
    assert.equal(q.enableKicks(), false);
    assert.equal(ring.usedFlags(), 0);
  });

  it('with EVENT_IDX: used.flags stays 0 and avail_event asks for the next entry', () => {
    const { ring, q, useOne } = setup(true);
    useOne();
    useOne();
    q.disableKicks();
    assert.equal(ring.usedFlags(), 0);
    assert.equal(q.enableKicks(), false);
    assert.equal(ring.availEvent(), 2);
  });

  it('enableKicks reports a buffer that arrived while kicks were off (no lost wakeup)', () => {
    const { ring, q } = setup(true);
    q.disableKicks();
    ring.offer(0);
    assert.equal(q.enableKicks(), true);
  });
});
