// The command line end to end: exit 2 for bad input with nothing written, exit 1 when a MUST
// fails (a deliberately broken device), exit 0 otherwise, the table on stdout, the run directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../harness/core/paths.ts';
import { readRun } from '../../../harness/results/rundir.ts';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'harness/cli/main.ts', 'conform', ...args], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('bad input: exit 2, the error says what and how to fix it, no run directory', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-conform-cli-'));
  try {
    const cases: [string[], RegExp][] = [
      [['--dut', 'qemu'], /--dut "qemu": unknown device[\s\S]*hint: accepted forms/],
      [['--dut', 'reference', '--features', 'VERSION_1,WARP'], /unknown feature "WARP"/],
      [['--dut', 'reference', '--only', 'S99'], /unknown requirement "S99"/],
      [['--dut', 'testpmd', '--transport', 'vhost-net'], /reached over vhost-user, not vhost-net/],
      [['--dut', `vhost-user:${tmp}/missing.sock`], /no such file/],
    ];
    for (const [args, re] of cases) {
      const out = path.join(tmp, 'run');
      const r = cli(...args, '--out', out);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(fs.existsSync(out), false, `${args.join(' ')} wrote nothing`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a MUST failure exits 1; a clean run exits 0; table and run directory', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-conform-cli-'));
  try {
    const bad = cli('--dut', 'reference:writes-readable', '--only', 'S1,S2', '--out', path.join(tmp, 'bad'));
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stdout, /S1 .*FAIL/);
    assert.match(bad.stdout, /MUST failed: S1/);
    const run = readRun(path.join(tmp, 'bad'));
    // S2's rings saw the same fault (a readable TX byte changed): a finding against S1, written as seen.
    assert.deepEqual(
      run.records.map((r) => (r.type === 'conformance' ? `${r.requirement}:${r.outcome}` : r.type === 'conformance-finding' ? `${r.requirement} seen during ${r.check}` : r.type)),
      ['S1:fail', 'S1 seen during S2', 'S2:pass'],
    );
    assert.match(bad.stderr, /S1 +seen broken during S2 .*device-readable bytes .* changed/);
    assert.equal(run.manifest.kind, 'conformance');

    const good = cli('--dut', 'reference', '--only', 'F,H4', '--features', 'VERSION_1,MRG_RXBUF', '--out', path.join(tmp, 'good'));
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /reference \(in-process\): 6 pass, 0 fail, 0 warn, 0 skip — no MUST failed/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
