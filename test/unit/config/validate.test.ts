import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, validateConfig } from '../../../harness/config/load.ts';
import { RunConfigSchema } from '../../../harness/config/schema.ts';
import { exitCodeFor, UsageError } from '../../../harness/core/errors.ts';

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

test('sizes: TCP workloads take 65536 and up to 1 MiB; the UDP limit applies to UDP workloads only', () => {
  assert.deepEqual(validateConfig({ workloads: ['TCP_STREAM', 'TCP_MAERTS', 'TCP_RR', 'TCP_CRR'], sizes: [64, 65536, 1048576] }).sizes, [64, 65536, 1048576]);
  assert.deepEqual(validateConfig({ workloads: ['UDP_STREAM', 'UDP_RR'], sizes: [64, 65507] }).sizes, [64, 65507]);
});

const sizeErrors: [string, unknown, RegExp][] = [
  ['65536 beside UDP_STREAM', { workloads: ['TCP_STREAM', 'UDP_STREAM'], sizes: [1024, 65536] }, /sizes\[1\]: 65536 bytes is too big for UDP_STREAM: a UDP datagram carries at most 65507 bytes/],
  ['65536 with the default workloads (both UDP ones)', { sizes: [65536] }, /sizes\[0\]: 65536 bytes is too big for UDP_STREAM and UDP_RR: .*leave UDP_STREAM and UDP_RR out of workloads/],
  ['more than 1 MiB for TCP', { workloads: ['TCP_STREAM'], sizes: [1048577] }, /sizes\[0\]: .*<=1048576/],
];

for (const [name, input, message] of sizeErrors) {
  test(`rejects a size of ${name}, naming the size and the workload`, () => {
    assert.throws(
      () => validateConfig(input),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
    );
  });
}

test('--sizes from the command line: the same check, exit 2 (a UsageError) with the hint', () => {
  assert.equal(loadConfig(undefined, { workloads: ['TCP_STREAM'], sizes: [65536] }).sizes[0], 65536);
  assert.throws(
    () => loadConfig(undefined, { workloads: ['UDP_RR'], sizes: [65536] }),
    (e: unknown) =>
      e instanceof UsageError && exitCodeFor(e) === 2 && /command-line flags:\n {2}sizes\[0\]: 65536 bytes is too big for UDP_RR/.test(e.message) && /README\.md "Configuration"/.test(e.hint ?? ''),
  );
});

test('the hint\'s README "Configuration" section exists and documents every top-level key', () => {
  const readme = fs.readFileSync(path.resolve(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8');
  const section = /^## Configuration\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  assert.ok(section, 'README.md has a "## Configuration" section');
  for (const key of Object.keys(RunConfigSchema.shape)) assert.match(section, new RegExp('`' + key + '`'), `README "Configuration" documents \`${key}\``);
});

test('the size/workload check is reported beside other keys\' problems, and needs no valid root', () => {
  assert.throws(
    () => validateConfig({ sizes: [65536], duration: 'x' }),
    (e: unknown) => e instanceof UsageError && /duration: /.test(e.message) && /sizes\[0\]: 65536 bytes is too big for UDP_STREAM and UDP_RR/.test(e.message),
  );
  assert.throws(() => validateConfig(5), UsageError);
  assert.throws(() => validateConfig({ sizes: 'big' }), (e: unknown) => e instanceof UsageError && /sizes: /.test(e.message));
});
