// Package state through the real dpkg-query: one package every Debian system has, one that
// cannot exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packageStates, parseDpkgQuery } from '../../../harness/setup/dpkg.ts';
import { realRunner } from '../../../harness/setup/runner.ts';

const ABSENT = 'vnb-no-such-package';

test('dpkg is installed, a made-up name is not (real dpkg-query)', async () => {
  const [dpkg, absent] = await packageStates(['dpkg', ABSENT], realRunner);
  assert.equal(dpkg.name, 'dpkg');
  assert.equal(dpkg.installed, true);
  assert.match(dpkg.detail, /^\d+\.\d+/, 'the installed version');
  assert.deepEqual(absent, { name: ABSENT, installed: false, detail: 'not installed (unknown to dpkg)' });
});

test('the order of the answer follows the question, whatever dpkg prints', async () => {
  const states = await packageStates([ABSENT, 'dpkg', 'iproute2'], realRunner);
  assert.deepEqual(states.map((s) => s.name), [ABSENT, 'dpkg', 'iproute2']);
  assert.deepEqual(states.map((s) => s.installed), [false, true, true]);
});

test('no names, no command', async () => {
  let called = false;
  await packageStates([], async () => {
    called = true;
    throw new Error('must not run');
  });
  assert.equal(called, false);
});

test('parseDpkgQuery reads the tab-separated format and keeps the status flags', async () => {
  const r = await realRunner(['dpkg-query', '-W', '-f=${Package}\\t${Version}\\t${db:Status-Abbrev}\\n', 'dpkg'], { nothrow: true });
  const m = parseDpkgQuery(r.stdout);
  assert.equal(m.get('dpkg')?.status, 'ii');
  assert.ok(m.get('dpkg')?.version);
});

test('a system without dpkg-query: every package is missing, and the report says why', async () => {
  // The real exec, asked for a program that does not exist in place of dpkg-query.
  const states = await packageStates(['dpkg', 'iproute2'], (argv, opts) => realRunner(['vnb-no-dpkg-query', ...argv.slice(1)], opts));
  for (const s of states) {
    assert.equal(s.installed, false);
    assert.match(s.detail, /dpkg-query not found/);
  }
});
