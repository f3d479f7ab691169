import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createMemfd, mapFd } from '../../../harness/sys/memfd.ts';

test('a second mapping of a memfd sees writes made through the first', () => {
  const m = createMemfd('vnb-test', 1 << 20);
  try {
    assert.equal(m.bytes.length, 1 << 20);
    assert.ok(m.addr > 0n);
    const other = mapFd(m.fd, 8192, 4096);
    assert.notEqual(other.addr, m.addr);
    m.bytes[4096] = 0xab;
    m.bytes[4096 + 8191] = 0xcd;
    assert.equal(other.bytes[0], 0xab);
    assert.equal(other.bytes[8191], 0xcd);
    // Atomics work on the (non-shared) view: one 16-bit store, seen by the other mapping.
    Atomics.store(new Uint16Array(other.bytes.buffer, 2, 1), 0, 0xbeef);
    assert.equal(m.bytes[4098], 0xef);
    assert.equal(m.bytes[4099], 0xbe);
  } finally {
    m.close();
  }
});

test('the memfd appears in /proc as a memfd and close() releases the fd', () => {
  const m = createMemfd('vnb-proc', 4096);
  assert.match(fs.readlinkSync(`/proc/self/fd/${m.fd}`), /^\/memfd:vnb-proc/);
  m.close();
  m.close(); // idempotent
  assert.throws(() => fs.readlinkSync(`/proc/self/fd/${m.fd}`));
  // The mapping outlives the fd: the view is still valid.
  m.bytes[0] = 1;
  assert.equal(m.bytes[0], 1);
});

test('mapFd rejects unaligned offsets and bad fds with the call named', () => {
  assert.throws(() => mapFd(0, 4096, 100), /not a multiple of 4096/);
  assert.throws(() => mapFd(-1, 4096, 0), /mmap \(fd -1.*EBADF/);
});
