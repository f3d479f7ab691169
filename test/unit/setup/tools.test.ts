// toolPath: system tools from PATH (and sbin), netperf/netserver only from the project cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { CapabilityError } from '../../../harness/core/errors.ts';
import { cacheDir } from '../../../harness/core/paths.ts';
import { findTool, toolPath } from '../../../harness/setup/tools.ts';

function withCache<T>(dir: string, fn: () => T): T {
  const saved = process.env.VNETBENCH_CACHE;
  process.env.VNETBENCH_CACHE = dir;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.VNETBENCH_CACHE;
    else process.env.VNETBENCH_CACHE = saved;
  }
}

test('a system tool resolves to the same file the shell finds', () => {
  const shell = execFileSync('bash', ['-c', 'command -v iperf3'], { encoding: 'utf8' }).trim();
  assert.equal(fs.realpathSync(toolPath('iperf3')), fs.realpathSync(shell));
  assert.ok(path.isAbsolute(toolPath('ip')));
});

test('ethtool is found in /usr/sbin even when PATH lacks it', () => {
  const saved = process.env.PATH;
  process.env.PATH = '/usr/bin:/bin';
  try {
    assert.equal(toolPath('ethtool'), '/usr/sbin/ethtool');
  } finally {
    process.env.PATH = saved;
  }
});

test('a missing tool is a CapabilityError with an install hint', () => {
  assert.equal(findTool('vnb-no-such-tool'), undefined);
  assert.throws(() => toolPath('vnb-no-such-tool'), (e: unknown) => e instanceof CapabilityError && /apt-get install vnb-no-such-tool/.test(e.hint!));
  assert.throws(() => toolPath('dpdk-testpmd-nope'), CapabilityError);
});

test('netperf is never taken from PATH: an empty cache means not found, with the setup hint', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-cache-'));
  try {
    withCache(empty, () => {
      assert.equal(findTool('netperf'), undefined);
      assert.throws(() => toolPath('netserver'), (e: unknown) => e instanceof CapabilityError && /project cache/.test(e.message) && /vnetbench setup/.test(e.hint!));
    });
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

test('netperf and netserver from the project cache after setup', (t) => {
  const netperf = findTool('netperf');
  if (!netperf) return t.skip(`netperf not fetched into ${cacheDir()} yet (run \`vnetbench setup\`)`);
  assert.ok(netperf.startsWith(path.join(cacheDir(), 'debs', 'root') + path.sep));
  assert.match(execFileSync(netperf, ['-V'], { encoding: 'utf8' }), /Netperf version 2\.7\.0/);
  assert.equal(path.dirname(toolPath('netserver')), path.dirname(netperf));
});
