// `vnetbench setup` through the real CLI: --check with and without something present (netperf is
// absent from an empty cache), bad flags, and the refusal to run as an ordinary user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../helpers/cli.ts';

const cli = (args: string[], env: NodeJS.ProcessEnv = {}, prefix: string[] = []) => runCli(args, { env, prefix });

test('setup --check with an empty cache: netperf listed as missing, exit 1, the cache left empty', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-cache-'));
  try {
    const r = cli(['setup', '--check'], { VNETBENCH_CACHE: empty });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /netperf 2\.7 - .* -> MISSING: netperf and netserver not in the project cache/);
    assert.match(r.stdout, /setup --check: \d+ of \d+ missing:\n(.*\n)*  netperf 2\.7: /);
    assert.match(r.stdout, /package iproute2 - .* -> already present: /);
    assert.deepEqual(fs.readdirSync(empty), [], '--check wrote nothing');
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

test('setup --check --with an unknown group: exit 2 with the choices', () => {
  const r = cli(['setup', '--check', '--with', 'gpu']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Error: --with: unknown group "gpu"\n  hint: choose from: dpdk, chromium/);
});

test('setup as an ordinary user: exit 2, says root is needed, changes nothing', (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to switch to the nobody user');
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-cache-'));
  fs.chmodSync(empty, 0o777);
  try {
    const r = cli(['setup'], { VNETBENCH_CACHE: empty, HOME: empty }, ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /Error: vnetbench setup installs Debian packages and must run as root \(running as uid 65534\); nothing was changed/);
    assert.equal(r.stdout, '', 'no step ran');
    assert.deepEqual(fs.readdirSync(empty).filter((f) => !f.startsWith('.')), [], 'nothing written to the cache');
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});
