import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../../harness/config/load.ts';
import { UsageError } from '../../../harness/core/errors.ts';

test('an empty config takes every default', () => {
  const c = validateConfig({});
  assert.deepEqual(c.backends, ['copy', 'macvtap']);
  assert.equal(c.workloads.length, 6);
  assert.equal(c.engine, 'netperf');
  assert.deepEqual(c.topology, { kind: 'embedded' });
});

const bad: [string, unknown, RegExp][] = [
  ['unknown top-level key', { bogus: 1 }, /bogus: unknown key/],
  ['unknown nested key', { guest: { memMiB: 512, colour: 'red' } }, /guest\.colour: unknown key/],
  ['size too large for UDP', { sizes: [64, 70000] }, /sizes\[1\]: .*65507/],
  ['size zero', { sizes: [0] }, /sizes\[0\]: .*>=1/],
  ['unknown backend', { backends: ['virtio-magic'] }, /backends\[0\]: .*"copy"/],
  ['unknown workload', { workloads: ['TCP_BLAST'] }, /workloads\[0\]: .*TCP_STREAM/],
  ['empty backend list', { backends: [] }, /backends: .*>=1/],
  ['duration as a string', { duration: '10' }, /duration: .*number/],
  ['negative iterations', { iterations: -1 }, /iterations: .*>0/],
  ['fractional iterations', { iterations: 1.5 }, /iterations: .*int/],
  ['bad interface name', { topology: { kind: 'nic', nic: 'this-name-is-too-long', peerNic: 'eth1' } }, /topology\.nic: must be a Linux interface name/],
  ['nic topology without a peer', { topology: { kind: 'nic', nic: 'eth0' } }, /topology: name exactly one of peerNic/],
  ['bad remote peer address', { topology: { kind: 'nic', nic: 'eth0', remotePeer: '1.2.3' } }, /topology\.remotePeer/],
  ['confidence level out of range', { confidence: { level: 1.5 } }, /confidence\.level: .*<1/],
  ['guest memory too small', { guest: { memMiB: 16 } }, /guest\.memMiB: .*>=128/],
  ['unknown engine', { engine: 'ttcp' }, /engine: .*netperf/],
  ['unknown topology kind', { topology: { kind: 'cloud' } }, /topology\.kind/],
];

for (const [name, input, message] of bad) {
  test(`rejects ${name} with the key path`, () => {
    assert.throws(
      () => validateConfig(input),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
    );
  });
}
