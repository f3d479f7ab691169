import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combineMetrics } from '../../../harness/workloads/parse.ts';
import { parseNetperf } from '../../../harness/workloads/netperf.ts';
import { parseSockperf } from '../../../harness/workloads/sockperf.ts';
import { readFixture } from './fixtures.ts';

// Real two-client captures (netperf runs one process per stream, sockperf one client per stream).
const tcp = ['c0', 'c1'].map((c) => parseNetperf(readFixture(`netperf/TCP_STREAM-16384-s2.${c}.out`), { workload: 'TCP_STREAM' }));
const rr = ['c0', 'c1'].map((c) => parseNetperf(readFixture(`netperf/TCP_RR-64-s2.${c}.out`), { workload: 'TCP_RR' }));
const udprr = ['c0', 'c1'].map((c) => parseSockperf(readFixture(`sockperf/UDP_RR-64-s2.${c}.out`), { workload: 'UDP_RR', size: 64 }));

test('streams: throughput and retransmits add', () => {
  const m = combineMetrics(tcp);
  assert.equal(m.throughput_bps, tcp[0].throughput_bps! + tcp[1].throughput_bps!);
  assert.equal(m.retransmits, tcp[0].retransmits! + tcp[1].retransmits!);
});

test('RR: rates add, mean latency is transaction-weighted, percentiles are the per-client maximum', () => {
  for (const pair of [rr, udprr]) {
    const m = combineMetrics(pair);
    const [a, b] = pair;
    assert.equal(m.transactions_per_s, a.transactions_per_s! + b.transactions_per_s!);
    const w = (a.latency_mean_us! * a.transactions_per_s! + b.latency_mean_us! * b.transactions_per_s!) / (a.transactions_per_s! + b.transactions_per_s!);
    assert.ok(Math.abs(m.latency_mean_us! - w) < 1e-9);
    assert.ok(m.latency_mean_us! >= Math.min(a.latency_mean_us!, b.latency_mean_us!) && m.latency_mean_us! <= Math.max(a.latency_mean_us!, b.latency_mean_us!));
    assert.equal(m.latency_p99_us, Math.max(a.latency_p99_us!, b.latency_p99_us!));
    assert.equal(m.latency_p50_us, Math.max(a.latency_p50_us!, b.latency_p50_us!));
  }
});

test('loss is weighted by what each client sent', () => {
  // Two clients: 90 received of 100 sent (10 %) and 50 of 50 (0 %): 10 lost of 150 sent.
  const m = combineMetrics([
    { throughput_bps: 90, loss_pct: 10 },
    { throughput_bps: 50, loss_pct: 0 },
  ]);
  assert.ok(Math.abs(m.loss_pct! - (10 / 150) * 100) < 1e-9);
  assert.equal(m.throughput_bps, 140);
});

test('one client is returned as is; none is an error', () => {
  assert.deepEqual(combineMetrics([tcp[0]]), tcp[0]);
  assert.throws(() => combineMetrics([]), /no client results/);
});
