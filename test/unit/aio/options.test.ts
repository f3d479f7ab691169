// Bad input to `vnetbench backend aio-tap` is a UsageError naming the flag; good input parses to
// defaults the README documents; the harness starts the process with a pinned command line.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../../../harness/core/errors.ts';
import { aioArgv, parseAioOptions } from '../../../harness/aio/options.ts';
import { aioCommand } from '../../../harness/aio/launch.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-aioopt-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
/** A socket path that does not exist yet, in this file's temp dir. */
const sock = () => path.join(dir, `a${n++}.sock`);

test('defaults: io_uring, batch 32, one queue pair, rx depth 16', () => {
  const s = sock();
  const o = parseAioOptions({ socket: s, tap: 'vnbt0' });
  assert.deepEqual(o, { socket: s, device: { kind: 'tap', name: 'vnbt0' }, engine: 'io_uring', batch: 32, queues: 1, rxDepth: 16, verbose: false, statsInterval: 0 });
  assert.equal(parseAioOptions({ socket: s, macvtap: 'mv0', macvtapNode: '/dev/null', engine: 'linux-aio', batch: '8', queues: '2' }).rxDepth, 8);
});

for (const [what, flags, pattern] of [
  ['no device', { tap: undefined }, /exactly one of --tap IFNAME or --macvtap/],
  ['two devices', { macvtap: 'mv0' }, /exactly one of/],
  ['a bad interface name', { tap: 'a/b' }, /--tap "a\/b": not a Linux interface name/],
  ['an unknown engine', { engine: 'spdk' }, /--engine "spdk": unknown engine/],
  ['batch 0', { batch: '0' }, /--batch "0": expected a whole number from 1 to 1024/],
  ['batch 1.5', { batch: '1.5' }, /--batch "1.5"/],
  ['17 queues', { queues: '17' }, /--queues "17"/],
  ['a macvtap node with a tap', { macvtapNode: '/dev/null' }, /--macvtap-node applies to --macvtap only/],
] as const) {
  test(`refused: ${what}`, () => {
    assert.throws(() => parseAioOptions({ socket: sock(), ...{ tap: 'vnbt0' }, ...flags }), (e: unknown) => e instanceof UsageError && pattern.test(e.message));
  });
}

test('refused: a socket path that exists, is too long, or has no directory', () => {
  const s = sock();
  fs.writeFileSync(s, '');
  assert.throws(() => parseAioOptions({ socket: s, tap: 't' }), /something already exists at this path/);
  assert.throws(() => parseAioOptions({ socket: `/tmp/${'x'.repeat(120)}`, tap: 't' }), /a unix socket path holds at most 107/);
  assert.throws(() => parseAioOptions({ socket: '/nonexistent-dir/x.sock', tap: 't' }), /directory \/nonexistent-dir does not exist/);
  assert.throws(() => parseAioOptions({ tap: 't' }), /--socket is required/);
});

test('the backend process command line', () => {
  const argv = aioCommand({ socket: '/tmp/s.sock', device: { kind: 'macvtap', name: 'mv0', node: '/dev/tap9' }, engine: 'linux-aio', batch: 64, queues: 2, logFile: '/dev/null', statsInterval: 5 });
  assert.equal(argv[0], process.execPath);
  assert.deepEqual(argv.slice(1, 3), ['--import', 'tsx']);
  assert.match(argv[3]!, /harness\/cli\/main\.ts$/);
  assert.deepEqual(argv.slice(4), ['backend', 'aio-tap', '--socket', '/tmp/s.sock', '--macvtap', 'mv0', '--macvtap-node', '/dev/tap9', '--engine', 'linux-aio', '--batch', '64', '--queues', '2', '--stats-interval', '5']);
  assert.deepEqual(aioArgv({ socket: '/s', device: { kind: 'tap', name: 't0' }, engine: 'io_uring', batch: 32, queues: 1 }), ['backend', 'aio-tap', '--socket', '/s', '--tap', 't0', '--engine', 'io_uring', '--batch', '32', '--queues', '1']);
});
