import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSockperf, stripAnsi } from '../../../harness/workloads/sockperf.ts';
import { WorkloadParseError } from '../../../harness/workloads/parse.ts';
import { isStream } from '../../../harness/workloads/types.ts';
import { readFixture, runs, specOf } from './fixtures.ts';

const fixtures = runs('sockperf');
const grab = (text: string, re: RegExp) => Number(re.exec(stripAnsi(text))![1]);

test('sockperf fixtures cover every workload but TCP_CRR', () => {
  const have = new Set(fixtures.map((f) => f.workload));
  for (const w of ['TCP_STREAM', 'TCP_MAERTS', 'UDP_STREAM', 'TCP_RR', 'UDP_RR']) assert.ok(have.has(w as never), w);
  assert.ok(!have.has('TCP_CRR'));
});

for (const f of fixtures) {
  test(`sockperf ${f.file}`, () => {
    const text = readFixture(f.file);
    const m = parseSockperf(text, specOf(f));
    if (isStream(f.workload)) {
      const n = grab(text, /Total of (\d+) messages sent/);
      const t = grab(text, /messages sent in (\S+) sec/);
      assert.equal(m.throughput_bps, (n * f.size * 8) / t);
      // sockperf's own summary, in 2^20 bit/s: the same rate to its rounding.
      const mibit = grab(text, /BandWidth is \S+ MBps \((\S+) Mbps\)/);
      assert.ok(Math.abs(m.throughput_bps! / 2 ** 20 / mibit - 1) < 0.01);
      assert.equal(m.loss_pct, undefined, 'throughput mode cannot see receiver loss');
    } else {
      const runtime = grab(text, /\[Valid Duration\] RunTime=(\S+) sec/);
      const received = grab(text, /\[Valid Duration\].*ReceivedMessages=(\d+)/);
      assert.equal(m.transactions_per_s, received / runtime);
      assert.equal(m.latency_mean_us, grab(text, /avg-rtt=(\S+)/));
      assert.equal(m.latency_p99_us, grab(text, /percentile 99\.000 =\s*(\S+)/));
      assert.ok(m.latency_p50_us! <= m.latency_p90_us! && m.latency_p90_us! <= m.latency_p99_us!);
      const ratio = m.transactions_per_s! / (1e6 / m.latency_mean_us!);
      assert.ok(ratio > 0.8 && ratio < 1.2, `rate vs 1e6/mean ratio ${ratio}`);
      if (f.workload === 'UDP_RR') assert.equal(m.loss_pct, 0);
    }
  });
}

test('peer -> guest stream fixtures were captured with the client on the peer', () => {
  for (const f of fixtures.filter((x) => x.workload === 'TCP_MAERTS' || x.direction === 'peer-to-guest')) {
    assert.equal(f.clientSide, 'peer');
    assert.ok(f.clientArgv.includes('198.18.0.1'), 'client connects to the guest address');
  }
});

test('the real "connection refused" output (sockperf exits 0) is an error quoting it', () => {
  const text = readFixture('sockperf/error-no-server.out');
  assert.throws(
    () => parseSockperf(text, { workload: 'TCP_RR', size: 64 }),
    (e: unknown) => e instanceof WorkloadParseError && /no "\[Valid Duration\]/.test(e.message) && e.message.includes("Can`t connect socket"),
  );
  assert.throws(() => parseSockperf(text, { workload: 'TCP_STREAM', size: 64 }), /no "Total of N messages sent/);
});

test('ping-pong output without --full-rtt (altered real output: avg-latency) is refused, not halved', () => {
  const text = readFixture('sockperf/TCP_RR-64.out').replace('avg-rtt', 'avg-latency');
  assert.throws(() => parseSockperf(text, { workload: 'TCP_RR', size: 64 }), /no "avg-rtt=" \(was --full-rtt given\?\)/);
});

test('a missing percentile line (altered real output) is an error naming it', () => {
  const text = readFixture('sockperf/UDP_RR-64.out').replace(/^.*percentile 90\.000.*\n/m, '');
  assert.throws(() => parseSockperf(text, { workload: 'UDP_RR', size: 64 }), /no "percentile 90\.000" line/);
});
