import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventfd } from '../../../harness/sys/eventfd.ts';
import { TimeoutError } from '../../../harness/core/errors.ts';

test('eventfd sums writes and reads reset the counter; empty reads return 0n', () => {
  const e = eventfd();
  try {
    assert.equal(e.read(), 0n);
    e.signal();
    e.signal(4n);
    assert.equal(e.read(), 5n);
    assert.equal(e.read(), 0n);
  } finally {
    e.close();
  }
});

test('wait() resolves on a later signal without blocking the event loop', async () => {
  const e = eventfd();
  try {
    let ticks = 0;
    const iv = setInterval(() => ticks++, 5);
    setTimeout(() => e.signal(2n), 60);
    assert.equal(await e.wait(2000), 2n);
    clearInterval(iv);
    assert.ok(ticks > 0, 'timers ran while waiting');
  } finally {
    e.close();
  }
});

test('wait() rejects with TimeoutError when nothing is signalled', async () => {
  const e = eventfd();
  try {
    await assert.rejects(e.wait(50), TimeoutError);
  } finally {
    e.close();
  }
});
