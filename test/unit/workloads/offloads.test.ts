import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allOffloads, offloadMismatches, offloadRestore, parseOffloads, setOffloadsArgv, showOffloadsArgv } from '../../../harness/workloads/offloads.ts';
import { readFixture } from './fixtures.ts';

test('argv builders', () => {
  assert.deepEqual(setOffloadsArgv('eth0', allOffloads('off')), ['ethtool', '-K', 'eth0', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
  assert.deepEqual(setOffloadsArgv('vnbabc123t', { gro: 'on' }), ['ethtool', '-K', 'vnbabc123t', 'gro', 'on']);
  assert.deepEqual(showOffloadsArgv('eth0'), ['ethtool', '-k', 'eth0']);
  assert.throws(() => setOffloadsArgv('eth0', {}), /no offload feature/);
});

test('parses real `ethtool -k` of a veth before and after `-K tso off gso off gro off`', () => {
  const before = parseOffloads(readFixture('ethtool/veth-k-default.txt'));
  const after = parseOffloads(readFixture('ethtool/veth-k-off.txt'));
  assert.equal(before.tso.state, 'on');
  assert.equal(before.gso.state, 'on');
  for (const f of ['tso', 'gso', 'gro'] as const) {
    assert.equal(after[f].state, 'off');
    assert.equal(after[f].fixed, false);
  }
  assert.deepEqual(offloadMismatches(allOffloads('off'), after), []);
  assert.deepEqual(offloadMismatches(allOffloads('on'), after), ['tso is off, asked on', 'gso is off, asked on', 'gro is off, asked on']);
  assert.deepEqual(offloadRestore(before), { offloads: { tso: before.tso.state, gso: before.gso.state, gro: before.gro.state } });
});

test('a fixed feature is reported as such (altered real output)', () => {
  const text = readFixture('ethtool/veth-k-off.txt').replace('generic-receive-offload: off', 'generic-receive-offload: on [fixed]');
  const got = parseOffloads(text);
  assert.deepEqual(got.gro, { state: 'on', fixed: true });
  assert.deepEqual(offloadMismatches({ gro: 'off' }, got), ['gro is on [fixed], asked off']);
});

test('output without the feature lines is an error', () => {
  assert.throws(() => parseOffloads('Cannot get device feature names: No such device'), /no "tcp-segmentation-offload:" line/);
});
