// The stall margin comes from what this guest showed: its boot time first, then the worst
// overrun of its finished clients; bounded to [10 s, 60 s].
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StallWatch } from '../../../harness/run/stall.ts';

test('before any client finished, the margin follows the boot time (at least 10 s)', () => {
  assert.equal(new StallWatch(2.2).marginS(), 10);
  assert.equal(new StallWatch(10).marginS(), 25, 'a slow guest (2 x 10 s boot + 5 s) gets more');
  assert.equal(new StallWatch(100).marginS(), 60, 'capped');
});

test('observed overruns raise the margin; early finishes do not lower it', () => {
  const w = new StallWatch(2);
  w.observe(4, 3.9);
  assert.equal(w.marginS(), 10);
  w.observe(4, 9);
  assert.equal(w.marginS(), 20, '3 x 5 s overrun + 5 s');
  w.observe(4, 4.1);
  assert.equal(w.marginS(), 20);
});

test('the client deadline is its expected time plus the margin, in ms', () => {
  const w = new StallWatch(2);
  assert.equal(w.timeoutMs(4), 14_000);
  assert.match(w.describe(), /^margin 10\.0 s \(worst overrun 0\.00 s over 0 run\(s\), boot 2\.00 s\)$/);
});
