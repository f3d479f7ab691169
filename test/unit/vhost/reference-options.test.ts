// `vnetbench reference-device` flags: each bad value is a UsageError saying what is wrong and what
// is accepted, raised before anything exists; good ones parse to the link and fault they name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../../../harness/core/errors.ts';
import { parseReferenceDeviceOptions, referenceDeviceArgv } from '../../../harness/vhost/reference-options.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-refopt-'));
const sock = path.join(tmp, 'dev.sock');

test('good flags', () => {
  assert.deepEqual(parseReferenceDeviceOptions({ socket: sock }), { socket: sock, link: { kind: 'none' }, fault: undefined, verbose: false });
  assert.deepEqual(parseReferenceDeviceOptions({ socket: sock, link: 'tap:vnb0', netns: 'ns-1', fault: 'beyond-avail@after:3', verbose: true }), {
    socket: sock,
    link: { kind: 'tap', ifname: 'vnb0', netns: 'ns-1' },
    fault: { fault: 'beyond-avail', mode: { kind: 'after', n: 3 } },
    verbose: true,
  });
  assert.deepEqual(parseReferenceDeviceOptions({ socket: sock, link: 'loopback', fault: 'no-notify' }).fault, { fault: 'no-notify', mode: { kind: 'always' } });
  assert.deepEqual(referenceDeviceArgv({ socket: sock, link: 'loopback', fault: 'no-notify@first' }), ['reference-device', '--socket', sock, '--link', 'loopback', '--fault', 'no-notify@first']);
});

test('bad flags: what is wrong, and what is accepted', () => {
  for (const [flags, re, hint] of [
    [{}, /--socket is required/, /--socket \/tmp\/reference\.sock/],
    [{ socket: '/nonexistent-dir/x.sock' }, /directory \/nonexistent-dir does not exist/, /create it/],
    [{ socket: sock, link: 'wire' }, /--link "wire": unknown link/, /accepted: none .*loopback .*tap:IFNAME/],
    [{ socket: sock, link: 'tap:' }, /--link "tap:": "" is not a Linux interface name/, /accepted/],
    [{ socket: sock, link: 'tap:much-too-long-name' }, /not a Linux interface name/, /accepted/],
    [{ socket: sock, link: 'loopback', netns: 'x' }, /--netns x: applies to --link tap:IFNAME only \(the link is loopback\)/, /leave out --netns/],
    [{ socket: sock, link: 'tap:t0', netns: 'a/b' }, /--netns "a\/b": not a network namespace name/, undefined],
    [{ socket: sock, fault: 'nope' }, /--fault "nope": unknown fault "nope"/, /accepted: FAULT\[@MODE\] with FAULT one of wrong-used-len, .*no-notify and MODE one of always, first, after:N/],
    [{ socket: sock, fault: 'no-notify@later' }, /--fault "no-notify@later": unknown mode "later"/, /accepted/],
  ] as const) {
    assert.throws(
      () => parseReferenceDeviceOptions(flags),
      (e: unknown) => e instanceof UsageError && re.test(e.message) && (hint === undefined || hint.test(e.hint ?? '')),
      JSON.stringify(flags),
    );
  }
  assert.deepEqual(fs.readdirSync(tmp), [], 'nothing created');
  fs.rmSync(tmp, { recursive: true, force: true });
});
