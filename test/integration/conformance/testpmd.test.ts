// Live: the whole conformance suite against DPDK testpmd over vhost-user. Every requirement gets a
// record with evidence, every applicable one is run (nothing skipped for want of a wire, a
// transport operation or a feature), the run directory is complete, a device crash (if this DPDK
// has one) is followed by a restart and the remaining checks, and nothing is left on the host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { succeeds } from '../../../harness/core/exec.ts';
import { planConform, runConform } from '../../../harness/conform/command.ts';
import { readRun } from '../../../harness/results/rundir.ts';
import { order } from '../../../harness/conform/runner.ts';
import { CHECKS } from '../../../suites/conformance/index.ts';
import { settle } from '../topology/host-state.ts';
import { Ledger } from '../../../harness/core/ledger.ts';
import { shortId } from '../../../harness/core/names.ts';
import { TestpmdDut } from '../../../harness/vhost/testpmd.ts';

test('conform --dut testpmd: every requirement recorded with evidence, clean host afterwards', async (t) => {
  if (!(await succeeds(['sh', '-c', 'command -v dpdk-testpmd']))) return t.skip('dpdk-testpmd not installed (Debian dpdk-dev)');
  if (process.getuid?.() !== 0) return t.skip('needs root (network namespaces, AF_PACKET)');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-conform-it-'));
  const out = path.join(tmp, 'run');
  let stdout = '';
  try {
    const t0 = performance.now();
    const r = await runConform(planConform({ dut: 'testpmd', out }), { out: (s) => (stdout += s), err: () => {}, width: 160 });
    const wall = performance.now() - t0;
    t.diagnostic(`suite ${(r.durationMs / 1000).toFixed(1)} s, ${(wall / 1000).toFixed(1)} s with testpmd start-up and teardown (target < 60 s)`);

    // One record per requirement, in catalogue order (the two-pair checks last), each with its evidence.
    assert.deepEqual(r.records.map((x) => x.requirement), order(CHECKS).map((c) => c.id));
    for (const rec of r.records) {
      assert.equal(rec.dut, 'testpmd');
      assert.equal(rec.transport, 'vhost-user');
      assert.ok(rec.evidence.length > 20, `${rec.requirement} has evidence`);
      if (rec.outcome === 'fail' || rec.outcome === 'warn') assert.match(rec.evidence, /expected .*observed/s, `${rec.requirement}: ${rec.evidence}`);
      assert.doesNotMatch(rec.evidence, /aborted on the device's behaviour/, `${rec.requirement} ran to its verdict: ${rec.evidence}`);
    }
    // Every applicable requirement is tested: a skip may only say the device never did the thing
    // the requirement is about (no GSO delivered, no batch written...).
    for (const rec of r.records.filter((x) => x.outcome === 'skip')) {
      assert.match(rec.evidence, /^not exercised/, `${rec.requirement} skipped: ${rec.evidence}`);
    }
    const musts = r.verdicts.filter((x) => x.level === 'MUST' && x.outcome === 'fail');
    assert.equal(r.exitCode, musts.length ? 1 : 0);
    // What other checks saw is judged against its own requirement: every finding's requirement
    // ends failed (MUST) or warned (SHOULD), naming where it was seen.
    for (const f of r.findings) {
      const v = r.verdicts.find((x) => x.requirement === f.requirement)!;
      assert.equal(v.outcome, f.level === 'MUST' ? 'fail' : v.outcome === 'fail' ? 'fail' : 'warn', `${f.requirement} seen during ${f.check}: ${f.text}`);
      assert.ok(v.seen?.some((x) => x.check === f.check && x.text === f.text), `${f.requirement} keeps where it was seen (${f.check})`);
      assert.match(v.evidence, new RegExp(`\\b${f.check}\\b`), `${f.requirement} names ${f.check}`);
    }
    // Judged by vhost-user rules: a ring starts at SET_VRING_KICK and stops at GET_VRING_BASE.
    const byId = new Map(r.verdicts.map((x) => [x.requirement, x]));
    assert.match(byId.get('F4')!.evidence, /SET_VRING_KICK/);
    assert.match(byId.get('F5')!.evidence, /GET_VRING_BASE/);

    // A crash is a finding; the device is restarted and the suite goes on.
    const crashed = r.records.findIndex((x) => /killed by|crashed/.test(x.evidence));
    if (crashed >= 0) {
      t.diagnostic(`device crash recorded at ${r.records[crashed].requirement}: ${r.records[crashed].evidence.split('\n')[0]}`);
      for (const later of r.records.slice(crashed + 1)) assert.doesNotMatch(later.evidence, /no longer works|ECONNREFUSED/, `${later.requirement} ran on a restarted device`);
    }

    // The run directory, as reports read it.
    const run = readRun(out);
    assert.equal(run.manifest.kind, 'conformance');
    assert.equal(run.manifest.status, 'complete');
    assert.deepEqual(run.records.filter((x) => x.type === 'conformance'), r.records);
    assert.deepEqual(run.records.filter((x) => x.type === 'conformance-finding'), r.findings);
    assert.ok(run.manifest.capabilities.some((c) => c.name === 'conform:testpmd' && c.runnable));
    assert.ok(run.manifest.commandLines.testpmd?.includes('dpdk-testpmd'), 'testpmd command line recorded');
    assert.ok(run.manifest.versions['dpdk-dev'], 'DPDK version recorded');
    assert.match(stdout, /testpmd \(vhost-user\): \d+ pass, \d+ fail, \d+ warn, \d+ skip/);

    // Nothing left: every run id the suite used (one testpmd per queue-pair count).
    const text = fs.readFileSync(path.join(out, 'manifest.json'), 'utf8') + fs.readFileSync(path.join(out, 'results.jsonl'), 'utf8');
    const ids = new Set([...text.matchAll(/vnb-?([0-9a-f]{6})[-p]/g)].map((m) => m[1]));
    assert.ok(ids.size >= 1, 'found the run ids');
    for (const id of ids) assert.deepEqual(await settle(id), [], `nothing of run ${id} left`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('conform --dut vhost-user:/path: a device the suite does not manage, with and without --wire', async (t) => {
  if (!(await succeeds(['sh', '-c', 'command -v dpdk-testpmd']))) return t.skip('dpdk-testpmd not installed (Debian dpdk-dev)');
  if (process.getuid?.() !== 0) return t.skip('needs root (network namespaces, AF_PACKET)');
  const ledger = Ledger.create(`test-conform-byo-${shortId()}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-conform-byo-'));
  try {
    // Someone else's device: the suite gets only its socket. testpmd forwards to an AF_PACKET port
    // on a veth, so a probe frame does not come back into RX: no loopback is detected.
    const dev = await TestpmdDut.start(ledger, { memMb: 256, extraArgs: ['--total-num-mbufs=16384'] });
    const only = 'F2,S3,S5,S7,N1';
    const bare = await runConform(planConform({ dut: `vhost-user:${dev.socketPath}`, only, out: path.join(tmp, 'bare') }), { out: () => {}, err: () => {} });
    const by = new Map(bare.records.map((x) => [x.requirement, x]));
    assert.equal(by.get('S3')!.outcome, 'skip', 'frames cannot be injected or captured');
    assert.match(by.get('S3')!.evidence, /no wire named, and a probe frame .* did not come back into RX/);
    for (const id of ['F2', 'S5', 'S7', 'N1']) assert.equal(by.get(id)!.outcome, 'pass', `${id}: ${by.get(id)!.evidence}`);
    assert.match(by.get('S5')!.evidence, /RX not tested: no wire/);

    // The interface the device is attached to, named: the probe proves it, and the frame checks run.
    const wired = await runConform(
      planConform({ dut: `vhost-user:${dev.socketPath}`, wire: dev.wire.probeIf, wireNetns: dev.wire.ns, only, out: path.join(tmp, 'wired') }),
      { out: () => {}, err: () => {} },
    );
    const w = new Map(wired.records.map((x) => [x.requirement, x]));
    assert.notEqual(w.get('S3')!.outcome, 'skip', `S3 runs with a wire: ${w.get('S3')!.evidence}`);
    assert.doesNotMatch(w.get('S5')!.evidence, /RX not tested/);
    const manifest = readRun(path.join(tmp, 'wired')).manifest.config as Record<string, unknown>;
    assert.match(String(manifest.wireProbe), /probe frames crossed .* both ways/);
    assert.ok(dev.alive(), 'the suite leaves a device it does not manage running');
    await dev.close();
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    assert.deepEqual(await ledger.teardown(), []);
  }
});
