// AF_UNIX sockets through koffi: SCM_RIGHTS with up to 8 fds per message, received fds that are
// real (a memfd maps the same memory), limits, and waits that end cleanly when the fd is closed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unixListen, unixConnect, unixAccept, MsgBuffer, MAX_FDS } from '../../../harness/sys/socket.ts';
import { createMemfd, mapFd } from '../../../harness/sys/memfd.ts';
import { eventfd, wrapEventFd } from '../../../harness/sys/eventfd.ts';
import { closeQuiet } from '../../../harness/sys/libc.ts';
import { waitFd, cancelWaits, FdClosedError } from '../../../harness/sys/poll.ts';

function pair(): { a: number; b: number; done(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-sock-'));
  const p = path.join(dir, 's');
  const l = unixListen(p);
  const a = unixConnect(p);
  const b = unixAccept(l);
  assert.ok(b !== null, 'a pending connection is accepted at once');
  closeQuiet(l);
  return {
    a,
    b,
    done() {
      closeQuiet(a);
      closeQuiet(b);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('SCM_RIGHTS: 8 fds ride with the first byte and work on the other side', () => {
  const s = pair();
  const mem = createMemfd('vnb-scm', 8192);
  const evs = Array.from({ length: 7 }, () => eventfd());
  try {
    const io = new MsgBuffer(256);
    mem.bytes.set(Buffer.from('shared'), 4096);
    assert.equal(io.send(s.a, Buffer.from('hello'), [mem.fd, ...evs.map((e) => e.fd)]), 5);
    const r = io.recv(s.b, 256);
    assert.ok(r);
    assert.equal(Buffer.from(r.bytes).toString(), 'hello');
    assert.equal(r.fds.length, MAX_FDS);
    assert.equal(r.truncatedFds, false);
    // The received memfd maps the same pages; the received eventfds signal ours.
    assert.equal(Buffer.from(mapFd(r.fds[0], 4096, 4096).bytes.subarray(0, 6)).toString(), 'shared');
    wrapEventFd(r.fds[7]).signal(9n);
    assert.equal(evs[6].read(), 9n);
    for (const f of r.fds) closeQuiet(f);
    // Nothing queued: recv returns null instead of blocking.
    assert.equal(io.recv(s.b, 16), null);
  } finally {
    for (const e of evs) e.close();
    mem.close();
    s.done();
  }
});

test('limits: more than 8 fds, oversize payloads and long socket paths are refused before any syscall', () => {
  const io = new MsgBuffer(16);
  assert.throws(() => io.send(0, new Uint8Array(1), Array(9).fill(0)), /9 fds exceed 8/);
  assert.throws(() => io.send(0, new Uint8Array(17)), /17 bytes exceed 16/);
  assert.throws(() => unixConnect('/tmp/' + 'x'.repeat(120)), /limit is 107/);
  assert.throws(() => unixConnect('/nonexistent/vnb.sock'), /connect \(\/nonexistent\/vnb\.sock\) failed: ENOENT/);
});

test('a peer that closes shows as a zero-byte read', () => {
  const s = pair();
  try {
    closeQuiet(s.a);
    const r = new MsgBuffer(16).recv(s.b, 16);
    assert.ok(r);
    assert.equal(r.bytes.length, 0);
  } finally {
    s.done();
  }
});

test('closing an fd with a pending wait rejects the wait instead of crashing', async () => {
  const e = eventfd();
  const w = waitFd(e.fd, { readable: true }, 5000);
  cancelWaits(e.fd);
  await assert.rejects(w, FdClosedError);
  // eventfd.close() does the same for its own waits.
  const w2 = e.wait(5000);
  e.close();
  await assert.rejects(w2, FdClosedError);
});
