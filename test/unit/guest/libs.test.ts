// ldd output (recorded on this machine: fixtures/guest/README.md) to the libraries the guest needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixturesDir } from '../../../harness/core/paths.ts';
import { parseLdd } from '../../../harness/guest/libs.ts';

const fixture = (n: string) => fs.readFileSync(path.join(fixturesDir(), 'guest', n), 'utf8');

test('a dynamic program: every library with its path, the loader, and no vDSO', () => {
  const r = parseLdd(fixture('ldd-iperf3.txt'));
  assert.equal(r.static, false);
  assert.equal(r.interpreter, '/lib64/ld-linux-x86-64.so.2');
  assert.deepEqual(
    r.libs.map((l) => l.soname),
    ['libiperf.so.0', 'libc.so.6', 'libcrypto.so.3', 'libsctp.so.1', 'libm.so.6'],
  );
  assert.ok(r.libs.every((l) => l.path?.startsWith('/')));
  assert.match(r.libs[0].path!, /libiperf0_.*\/libiperf\.so\.0$/, 'found through LD_LIBRARY_PATH in the unpacked package');
});

test('a static program has no libraries', () => {
  const r = parseLdd(fixture('ldd-busybox-static.txt'));
  assert.equal(r.static, true);
  assert.deepEqual(r.libs, []);
  assert.equal(r.interpreter, undefined);
});

test('a missing library is reported without a path (constructed line in ldd\'s format)', () => {
  const r = parseLdd('\tlinux-vdso.so.1 (0x00007ffd)\n\tlibfoo.so.9 => not found\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n');
  assert.deepEqual(r.libs, [{ soname: 'libfoo.so.9' }, { soname: 'libc.so.6', path: '/lib/x86_64-linux-gnu/libc.so.6' }]);
});
