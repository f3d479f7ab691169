import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIperf3 } from '../../../harness/workloads/iperf3.ts';
import { WorkloadParseError } from '../../../harness/workloads/parse.ts';
import { readFixture, runs, specOf } from './fixtures.ts';

type End = { sum_sent: Record<string, number>; sum_received: Record<string, number>; sum?: Record<string, number> };
const endOf = (text: string) => (JSON.parse(text) as { end: End }).end;

const fixtures = runs('iperf3');

test('iperf3 fixtures cover its stream workloads in both UDP directions', () => {
  const have = new Set(fixtures.map((f) => `${f.workload}${f.direction ? `/${f.direction}` : ''}`));
  for (const w of ['TCP_STREAM', 'TCP_MAERTS', 'UDP_STREAM/guest-to-peer', 'UDP_STREAM/peer-to-guest']) assert.ok(have.has(w), w);
});

for (const f of fixtures) {
  test(`iperf3 ${f.file}: throughput is the receiver's, from end.sum_received`, () => {
    const text = readFixture(f.file);
    const m = parseIperf3(text, specOf(f));
    const end = endOf(text);
    assert.equal(m.throughput_bps, end.sum_received.bits_per_second);
    assert.ok(m.throughput_bps! > 0);
    if (f.workload === 'UDP_STREAM') {
      assert.equal(m.loss_pct, end.sum!.lost_percent);
      assert.ok(m.loss_pct! >= 0 && m.loss_pct! <= 100);
    } else {
      assert.equal(m.retransmits, end.sum_sent.retransmits);
    }
  });
}

test('TCP_MAERTS was captured in reverse mode (-R): the server sent', () => {
  const f = fixtures.find((x) => x.workload === 'TCP_MAERTS')!;
  assert.ok(f.clientArgv.includes('-R'));
  const doc = JSON.parse(readFixture(f.file)) as { start: { test_start: { reverse: number } } };
  assert.equal(doc.start.test_start.reverse, 1);
});

test('-P 2 output: one client, end sums cover both streams', () => {
  const f = fixtures.find((x) => x.streams === 2)!;
  const text = readFixture(f.file);
  const doc = JSON.parse(text) as { end: End & { streams: unknown[] } };
  assert.equal(doc.end.streams.length, 2);
  assert.equal(parseIperf3(text, specOf(f)).throughput_bps, doc.end.sum_received.bits_per_second);
});

test('the real "connection refused" JSON (iperf3 exits 0) is an error quoting iperf3', () => {
  const text = readFixture('iperf3/error-no-server.out');
  assert.throws(
    () => parseIperf3(text, { workload: 'TCP_STREAM' }),
    (e: unknown) => e instanceof WorkloadParseError && e.message.includes('iperf3 reported: unable to connect to server: Connection refused'),
  );
});

test('truncated JSON (a real capture cut in half) is an error quoting the text', () => {
  const real = readFixture('iperf3/TCP_STREAM-16384.out');
  const cut = real.slice(0, real.length / 2);
  assert.throws(
    () => parseIperf3(cut, { workload: 'TCP_STREAM' }),
    (e: unknown) => e instanceof WorkloadParseError && /output is not JSON/.test(e.message) && e.message.includes('"start"'),
  );
});

test('JSON without end.sum_received (altered real output) is an error naming the field', () => {
  const doc = JSON.parse(readFixture('iperf3/TCP_STREAM-16384.out')) as { end: Record<string, unknown> };
  delete doc.end.sum_received;
  assert.throws(() => parseIperf3(JSON.stringify(doc), { workload: 'TCP_STREAM' }), /missing end\.sum_received\.bits_per_second/);
});
