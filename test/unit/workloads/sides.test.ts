import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listeningOn } from '../../../harness/workloads/sides.ts';
import { readFixture } from './fixtures.ts';

// /proc/net/{tcp,udp} read in the peer namespace while each server listened (capture.ts).
test('finds a listening TCP server by port in real /proc/net/tcp', () => {
  assert.ok(listeningOn(readFixture('procnet/netperf-TCP_STREAM-tcp-12865.txt'), 12865, 'tcp'));
  assert.ok(listeningOn(readFixture('procnet/iperf3-TCP_STREAM-tcp-5201.txt'), 5201, 'tcp'));
  assert.ok(listeningOn(readFixture('procnet/sockperf-TCP_STREAM-tcp-11111.txt'), 11111, 'tcp'));
  assert.ok(!listeningOn(readFixture('procnet/netperf-TCP_STREAM-tcp-12865.txt'), 5201, 'tcp'));
});

test('finds a bound UDP server in real /proc/net/udp, and not as TCP', () => {
  const udp = readFixture('procnet/sockperf-UDP_RR-udp-11111.txt');
  assert.ok(listeningOn(udp, 11111, 'udp'));
  assert.ok(!listeningOn(udp, 11111, 'tcp'));
});

test('an empty table (header only) has no listener', () => {
  const header = readFixture('procnet/netperf-TCP_STREAM-tcp-12865.txt').split('\n')[0];
  assert.ok(!listeningOn(header, 12865, 'tcp'));
});
