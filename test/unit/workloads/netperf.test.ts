import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNetperf } from '../../../harness/workloads/netperf.ts';
import { WorkloadParseError } from '../../../harness/workloads/parse.ts';
import { isStream } from '../../../harness/workloads/types.ts';
import { kv, readFixture, runs, specOf } from './fixtures.ts';

const fixtures = runs('netperf');

test('every workload has a captured netperf fixture', () => {
  const have = new Set(fixtures.map((f) => `${f.workload}${f.direction ? `/${f.direction}` : ''}`));
  for (const w of ['TCP_STREAM', 'TCP_MAERTS', 'UDP_STREAM/guest-to-peer', 'UDP_STREAM/peer-to-guest', 'TCP_RR', 'TCP_CRR', 'UDP_RR']) {
    assert.ok(have.has(w), `missing ${w}`);
  }
});

for (const f of fixtures) {
  test(`netperf ${f.file}: parsed values are the -k output's, in our units`, () => {
    const text = readFixture(f.file);
    const m = parseNetperf(text, specOf(f));
    if (isStream(f.workload)) {
      // THROUGHPUT_UNITS=10^6bits/s: netperf's default -f m.
      assert.equal(m.throughput_bps, kv(text, 'THROUGHPUT') * 1e6);
      assert.ok(m.throughput_bps! > 0);
      assert.equal(m.transactions_per_s, undefined);
    } else {
      assert.equal(m.transactions_per_s, kv(text, 'TRANSACTION_RATE'));
      assert.equal(m.latency_mean_us, kv(text, 'MEAN_LATENCY'));
      assert.equal(m.latency_p50_us, kv(text, 'P50_LATENCY'));
      assert.equal(m.latency_p90_us, kv(text, 'P90_LATENCY'));
      assert.equal(m.latency_p99_us, kv(text, 'P99_LATENCY'));
      assert.ok(m.latency_p50_us! <= m.latency_p90_us! && m.latency_p90_us! <= m.latency_p99_us!);
      // One transaction in flight: the rate is the inverse of the mean round trip.
      const ratio = m.transactions_per_s! / (1e6 / m.latency_mean_us!);
      assert.ok(ratio > 0.9 && ratio < 1.1, `transactions/s vs 1e6/mean latency ratio ${ratio}`);
    }
  });
}

test('UDP_STREAM loss compares datagrams sent with datagrams received', () => {
  for (const f of fixtures.filter((x) => x.workload === 'UDP_STREAM')) {
    const text = readFixture(f.file);
    const m = parseNetperf(text, specOf(f));
    const sent = kv(text, 'LOCAL_SEND_CALLS');
    const recvd = kv(text, 'REMOTE_RECV_CALLS');
    assert.equal(m.loss_pct, ((sent - recvd) / sent) * 100);
    assert.ok(m.loss_pct! >= 0 && m.loss_pct! <= 100);
    assert.equal(m.retransmits, undefined, 'UDP has no retransmits');
  }
});

test('retransmits come from the sending socket: local for STREAM, netserver for MAERTS', () => {
  const stream = fixtures.find((f) => f.workload === 'TCP_STREAM' && f.streams === 1)!;
  const maerts = fixtures.find((f) => f.workload === 'TCP_MAERTS')!;
  const ts = readFixture(stream.file);
  const tm = readFixture(maerts.file);
  assert.equal(parseNetperf(ts, specOf(stream)).retransmits, kv(ts, 'LOCAL_TRANSPORT_RETRANS'));
  assert.equal(parseNetperf(tm, specOf(maerts)).retransmits, kv(tm, 'REMOTE_TRANSPORT_RETRANS'));
});

test('TCP_CRR reports no retransmits (netperf prints -1: each transaction is a new socket)', () => {
  const f = fixtures.find((x) => x.workload === 'TCP_CRR')!;
  const text = readFixture(f.file);
  assert.equal(kv(text, 'LOCAL_TRANSPORT_RETRANS'), -1);
  assert.equal(parseNetperf(text, specOf(f)).retransmits, undefined);
});

test('the real "no netserver" output is an error that quotes it', () => {
  const text = readFixture('netperf/error-no-server.out');
  assert.throws(
    () => parseNetperf(text, { workload: 'TCP_RR' }),
    (e: unknown) => e instanceof WorkloadParseError && /no KEY=VALUE lines/.test(e.message) && e.message.includes('are you sure there is a netserver listening'),
  );
});

test('empty output is an error saying so', () => {
  assert.throws(() => parseNetperf('', { workload: 'TCP_STREAM' }), /netperf: no KEY=VALUE lines.*\n\(empty output\)/s);
});

// The malformed cases below are real fixtures with one line altered (labelled as such).
test('a non-numeric THROUGHPUT (altered real output) is an error naming the key and value', () => {
  const text = readFixture('netperf/TCP_STREAM-16384.out').replace(/^THROUGHPUT=.*$/m, 'THROUGHPUT=nan-ish');
  assert.throws(
    () => parseNetperf(text, { workload: 'TCP_STREAM' }),
    (e: unknown) => e instanceof WorkloadParseError && /THROUGHPUT is not a number: "nan-ish"/.test(e.message) && e.message.includes('THROUGHPUT=nan-ish'),
  );
});

test('stream output without THROUGHPUT_UNITS (altered real output) is an error', () => {
  const text = readFixture('netperf/TCP_STREAM-16384.out').replace(/^THROUGHPUT_UNITS=.*\n/m, '');
  assert.throws(() => parseNetperf(text, { workload: 'TCP_STREAM' }), /missing THROUGHPUT_UNITS/);
});

test('RR output parsed as a stream (units Trans/s) is an error, not a tiny bit rate', () => {
  const text = readFixture('netperf/TCP_RR-64.out');
  assert.throws(() => parseNetperf(text, { workload: 'TCP_STREAM' }), /unexpected THROUGHPUT_UNITS "Trans\/s" for a stream test/);
});

test('stream output parsed as RR is an error', () => {
  const text = readFixture('netperf/TCP_STREAM-16384.out');
  assert.throws(() => parseNetperf(text, { workload: 'TCP_RR' }), /unexpected THROUGHPUT_UNITS "10\^6bits\/s" for TCP_RR/);
});

test('RR output missing TRANSACTION_RATE (altered real output) is an error', () => {
  const text = readFixture('netperf/UDP_RR-64.out').replace(/^TRANSACTION_RATE=.*\n/m, '');
  assert.throws(() => parseNetperf(text, { workload: 'UDP_RR' }), /missing TRANSACTION_RATE/);
});
