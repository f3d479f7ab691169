// Both I/O engines for real, on a socketpair and eventfds (no tap needed): a batch of writev and
// readv operations through native iovecs, eventfd waits that consume the counter, cancellation,
// and notifications. The contract difference is asserted too: io_uring reads wait for data,
// Linux AIO reads on an empty non-blocking fd finish at once with -EAGAIN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import koffi from 'koffi';
import { createEngine, type Engine, type EngineName } from '../../../harness/aio/engines/index.ts';
import { IovecArray } from '../../../harness/aio/dataplane/iov.ts';
import { arena } from '../../../harness/sys/libc.ts';
import { eventfd } from '../../../harness/sys/eventfd.ts';
import { closeQuiet } from '../../../harness/sys/libc.ts';

const socketpair = koffi.load('libc.so.6').func('int socketpair(int domain, int type, int protocol, _Out_ int *sv)') as (d: number, t: number, p: number, sv: number[]) => number;
const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_NONBLOCK = 0o4000;
const EAGAIN = 11;

function pair(): [number, number] {
  const sv = [0, 0];
  assert.equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
  return [sv[0]!, sv[1]!];
}

function collect(e: Engine, want: number, block = true): Map<number, number> {
  const got = new Map<number, number>();
  for (let spins = 0; got.size < want && spins < 50; spins++) e.run(block, (t, r) => got.set(t, r));
  return got;
}

for (const name of ['io_uring', 'linux-aio'] as EngineName[]) {
  test(`${name}: a batch of writev then readv moves datagrams whole, scattered over several iovecs`, () => {
    const e = createEngine(name, { depth: 32 });
    const [a, b] = pair();
    try {
      const buf = arena(4096);
      const base = Number(buf.addr);
      const out: IovecArray[] = [];
      for (let k = 0; k < 4; k++) {
        buf.bytes.set(Buffer.from(`head${k}`), k * 64);
        buf.bytes.set(Buffer.from(`-tail-of-${k}`), k * 64 + 32);
        const iov = new IovecArray(2);
        iov.push(base + k * 64, 5);
        iov.push(base + k * 64 + 32, 10);
        out.push(iov);
        assert.ok(e.writev(a, iov.addr, iov.count, 100 + k));
      }
      const w = collect(e, 4);
      assert.deepEqual([...w.entries()].sort(), [[100, 15], [101, 15], [102, 15], [103, 15]]);
      const ins: IovecArray[] = [];
      for (let k = 0; k < 4; k++) {
        const iov = new IovecArray(2);
        iov.push(base + 1024 + k * 128, 3);
        iov.push(base + 1024 + k * 128 + 64, 60);
        ins.push(iov);
        assert.ok(e.readv(b, iov.addr, iov.count, 200 + k));
      }
      const r = collect(e, 4);
      assert.deepEqual([...r.values()], [15, 15, 15, 15]);
      const texts = [...Array(4).keys()].map((k) => {
        const s = 1024 + k * 128;
        return Buffer.from(buf.bytes.subarray(s, s + 3)).toString() + Buffer.from(buf.bytes.subarray(s + 64, s + 64 + 12)).toString();
      });
      assert.deepEqual(texts.sort(), ['head0-tail-of-0', 'head1-tail-of-1', 'head2-tail-of-2', 'head3-tail-of-3']);
      assert.ok(e.syscalls() > 0);
    } finally {
      e.close();
      closeQuiet(a);
      closeQuiet(b);
    }
  });

  test(`${name}: an eventfd wait completes once it is signalled and consumes the counter; cancel ends a wait`, () => {
    const e = createEngine(name, { depth: 16 });
    const ev = eventfd();
    const other = eventfd();
    try {
      assert.ok(e.waitReadable(ev.fd, 'eventfd', 7));
      assert.ok(e.waitReadable(other.fd, 'eventfd', 8));
      assert.equal(e.run(false, () => assert.fail('nothing signalled yet')), 0);
      ev.signal(3n);
      const got = collect(e, 1);
      assert.ok((got.get(7) ?? 0) > 0, 'the wait on the signalled eventfd completed');
      assert.equal(ev.read(), 0n, 'and the counter was consumed');
      e.cancel(8);
      const c = collect(e, 1);
      assert.ok(c.has(8), 'the cancelled wait completes');
      e.notify(ev.fd);
      e.run(false, () => {});
      assert.equal(ev.read(), 1n, 'notify adds 1 to the eventfd');
    } finally {
      e.close();
      ev.close();
      other.close();
    }
  });
}

test('io_uring: a read on an empty socket waits for data; Linux AIO answers -EAGAIN at once', () => {
  for (const name of ['io_uring', 'linux-aio'] as EngineName[]) {
    const e = createEngine(name, { depth: 8 });
    const [a, b] = pair();
    const buf = arena(64);
    const iov = new IovecArray(1);
    iov.push(Number(buf.addr), 64);
    e.readv(b, iov.addr, 1, 1);
    const first = new Map<number, number>();
    e.run(false, (t, r) => first.set(t, r));
    if (name === 'io_uring') {
      assert.equal(e.asyncReads, true);
      assert.equal(first.size, 0, 'io_uring: the read is still pending');
      const w = arena(8);
      const wiov = new IovecArray(1);
      wiov.push(Number(w.addr), 8);
      e.writev(a, wiov.addr, 1, 2);
      const got = collect(e, 2);
      assert.equal(got.get(1), 8, 'the pending read got the datagram');
    } else {
      assert.equal(e.asyncReads, false);
      assert.equal(first.get(1), -EAGAIN, 'Linux AIO: the read ran inside io_submit and found nothing');
    }
    e.close();
    closeQuiet(a);
    closeQuiet(b);
  }
});
