// Live: the kernel vhost-net DUTs. Where /dev/vhost-net is missing (this project's machines) every
// requirement is skipped with that reason, the exit code is 0 and nothing is created.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { planConform, runConform } from '../../../harness/conform/command.ts';
import { listNamespaces } from '../../../harness/core/orphans.ts';
import { CHECKS } from '../../../suites/conformance/index.ts';

for (const dut of ['vhost-net-tap', 'vhost-net-raw']) {
  test(`conform --dut ${dut}: skipped with the reason when /dev/vhost-net is missing`, async (t) => {
    if (fs.existsSync('/dev/vhost-net')) return t.skip('this host has /dev/vhost-net: the suite runs instead (see testpmd.test.ts for the shape)');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-conform-vn-'));
    const before = new Set(await listNamespaces());
    try {
      const r = await runConform(planConform({ dut, out: path.join(tmp, 'run') }), { out: () => {}, err: () => {} });
      assert.equal(r.records.length, CHECKS.length);
      for (const rec of r.records) {
        assert.equal(rec.outcome, 'skip', rec.requirement);
        assert.match(rec.evidence, /\/dev\/vhost-net missing/);
        assert.equal(rec.transport, 'vhost-net');
      }
      assert.equal(r.exitCode, 0);
      const after = (await listNamespaces()).filter((n) => !before.has(n));
      assert.deepEqual(after, [], 'no namespace created');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
}
