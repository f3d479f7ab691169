// Bad input to `vnetbench run` is a clear error with the key path, exit code 2, and no change to
// the system: no run directory, no ledger, no namespace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listNamespaces } from '../../../harness/core/orphans.ts';
import { ledgerIds, startCli } from './cli.ts';

let tmp: string;
before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-bad-'))));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cases: [string, string[], RegExp][] = [
  ['a size too large for UDP', ['--sizes', '64,70000'], /sizes\[1\]: .*65507/],
  ['a size that is not a number', ['--sizes', '64,big'], /sizes\[1\]: .*number/],
  ['an unknown backend', ['--backends', 'copy,warp-drive'], /backends\[1\]: .*"copy"/],
  ['an unknown workload', ['--workloads', 'TCP_BLAST'], /workloads\[0\]/],
  ['an unknown option', ['--colour', 'red'], /unknown option '--colour'/],
  ['a missing config file', ['--config', '/nonexistent/vnb.json'], /cannot read config file \/nonexistent\/vnb\.json/],
  ['--resume without --out', ['--resume'], /--resume needs --out/],
];

for (const [what, args, message] of cases) {
  test(`run with ${what}: exit 2, the reason, nothing changed`, { timeout: 60_000 }, async () => {
    const out = path.join(tmp, what.replace(/\W+/g, '-'));
    const stateDir = path.join(tmp, `state-${what.replace(/\W+/g, '-')}`);
    const nsBefore = await listNamespaces();
    const run = startCli(['run', ...args, '--out', out].filter((a, i, all) => !(args.includes('--resume') && (a === '--out' || all[i - 1] === '--out'))), {
      VNETBENCH_STATE_DIR: stateDir,
    });
    const exit = await run.exit;
    assert.equal(exit.code, 2, run.stderr());
    assert.match(run.stderr(), message);
    assert.match(run.stderr(), /^(Error: |error: )/m);
    assert.equal(fs.existsSync(out), false, 'no run directory');
    assert.deepEqual(ledgerIds(stateDir), [], 'no ledger');
    const created = (await listNamespaces()).filter((n) => !nsBefore.includes(n));
    assert.deepEqual(created, [], 'no namespace created');
  });
}

test('a config file with an unknown key and a bad value names both, exit 2', { timeout: 60_000 }, async () => {
  const file = path.join(tmp, 'bad.json');
  fs.writeFileSync(file, JSON.stringify({ backends: ['copy'], duratoin: 5, guest: { memMiB: 64 } }));
  const run = startCli(['run', '--config', file], { VNETBENCH_STATE_DIR: path.join(tmp, 'state-file') });
  assert.equal((await run.exit).code, 2, run.stderr());
  assert.match(run.stderr(), /duratoin: unknown key/);
  assert.match(run.stderr(), /guest\.memMiB: .*>=128/);
  assert.match(run.stderr(), new RegExp(`invalid configuration in ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
});
