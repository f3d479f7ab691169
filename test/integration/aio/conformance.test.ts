// The conformance suite against the aio-tap device with a wire the suite owns, both engines:
// every applicable requirement passes (the adversarial set included), only the IN_ORDER checks
// skip (not offered), and the run leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { conformAio } from '../../../harness/aio/conform.ts';
import type { EngineName } from '../../../harness/aio/engines/types.ts';
import { isRoot } from '../topology/host-state.ts';

const skip = !isRoot() && 'needs root (namespaces, taps, AF_PACKET)';

for (const engine of ['io_uring', 'linux-aio'] as EngineName[]) {
  test(`conformance of aio-tap (${engine}): no failure, no warning; only IN_ORDER skipped`, { skip, timeout: 240_000 }, async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-aio-conform-'));
    const stateDir = path.join(tmp, 'state');
    const prev = process.env.VNETBENCH_STATE_DIR;
    process.env.VNETBENCH_STATE_DIR = stateDir;
    try {
      const out: string[] = [];
      const r = await conformAio(engine, undefined, path.join(tmp, 'run'), (s) => out.push(s));
      assert.deepEqual(r.mustFailed, [], out.join(''));
      assert.equal(r.counts.fail, 0);
      assert.equal(r.counts.warn, 0);
      const records = fs.readFileSync(path.join(r.dir, 'results.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { requirement: string; outcome: string; evidence: string });
      const skipped = records.filter((x) => x.outcome === 'skip');
      assert.deepEqual(skipped.map((x) => x.requirement).sort(), ['O1', 'O2'], `skips: ${JSON.stringify(skipped)}`);
      assert.ok(records.filter((x) => /^A\d/.test(x.requirement)).every((x) => x.outcome === 'pass'), 'the adversarial set passes');
      const ledgers = path.join(stateDir, 'ledgers');
      assert.deepEqual(fs.existsSync(ledgers) ? fs.readdirSync(ledgers) : [], [], 'the run closed its ledger');
    } finally {
      process.env.VNETBENCH_STATE_DIR = prev;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
}
