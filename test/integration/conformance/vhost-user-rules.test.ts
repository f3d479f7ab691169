// The whole suite over vhost-user against a device that follows the vhost-user spec (the
// reference device served by `vnetbench reference-device`, a separate process reached only by its
// socket): it exits 0, judged by the ring life cycle (F4 at SET_VRING_KICK, F5 at GET_VRING_BASE),
// with a wire found by a probe (loopback) or named (a tap in a namespace), and then no check is
// skipped for lack of a wire. One fault firing once in the device's life makes it exit 1, naming
// the requirement. A named wire that does not carry the probe is bad input (exit 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ledger } from '../../../harness/core/ledger.ts';
import { shortId } from '../../../harness/core/names.ts';
import { readRun } from '../../../harness/results/rundir.ts';
import { judgeConformance } from '../../../harness/results/conformance.ts';
import type { ConformanceRecord } from '../../../harness/results/types.ts';
import { startCli, type CliRun } from '../../helpers/cli.ts';
import { startReferenceDevice, tapInNamespace } from '../../helpers/reference-device.ts';
import { isRoot } from '../topology/host-state.ts';

/** Checks that need the far end (needs.wire), the reference device offers what they need. */
const WIRED = 'S3,S4,S9,I1,I2,I3,P3,P6,H1,H2,H3,H4,H5,H6,H9,H10';

/** What the reference device does not offer or have: the only skips a wired run may have. */
const NOT_OFFERED = ['H11', 'H7', 'H8', 'M1', 'M2', 'M3'];


async function stop(run: CliRun): Promise<void> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  await run.exit;
}

async function conform(args: string[], out: string): Promise<{ code: number | null; stdout: string; stderr: string; verdicts: Map<string, ConformanceRecord>; config: Record<string, unknown> }> {
  const run = startCli(['conform', ...args, '--out', out]);
  const { code } = await run.exit;
  const ok = fs.existsSync(path.join(out, 'manifest.json'));
  const r = ok ? readRun(out) : undefined;
  const verdicts = new Map(judgeConformance(r?.records ?? []).map((v) => [v.requirement, v]));
  return { code, stdout: run.stdout(), stderr: run.stderr(), verdicts, config: (r?.manifest.config ?? {}) as Record<string, unknown> };
}

function assertClean(r: Awaited<ReturnType<typeof conform>>): void {
  const bad = [...r.verdicts.values()].filter((v) => v.outcome === 'fail' || v.outcome === 'warn');
  assert.deepEqual(bad.map((v) => `${v.requirement}: ${v.evidence}`), [], r.stderr);
  assert.equal(r.code, 0, r.stderr);
  const skipped = [...r.verdicts.values()].filter((v) => v.outcome === 'skip');
  assert.deepEqual(skipped.map((v) => v.requirement).sort(), NOT_OFFERED, skipped.map((v) => `${v.requirement}: ${v.evidence}`).join('\n'));
  for (const v of skipped) assert.doesNotMatch(v.evidence, /wire/, `${v.requirement} is not skipped for lack of a wire`);
  assert.match(r.verdicts.get('F4')!.evidence, /without SET_VRING_KICK.*nothing used.*used after SET_VRING_KICK/);
  assert.match(r.verdicts.get('F5')!.evidence, /GET_VRING_BASE on every ring.*then RESET_DEVICE.*rings untouched/);
}

test('a device that follows vhost-user: the whole suite exits 0, the loopback found by a probe', { skip: !isRoot() && 'needs root', timeout: 180_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-vu-'));
  const sock = path.join(tmp, 'dev.sock');
  const dev = await startReferenceDevice(['--link', 'loopback'], sock, path.join(tmp, 'state'));
  try {
    const r = await conform(['--dut', `vhost-user:${sock}`], path.join(tmp, 'run'));
    assert.match(r.stderr, /conform: wire: loopback: .*a probe frame the device transmitted came back into its RX/);
    assert.match(String(r.config.wire), /^loopback/);
    assertClean(r);
  } finally {
    await stop(dev);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('--wire TAP --wire-netns NS: the interface the device is attached to, proven by probes both ways', { skip: !isRoot() && 'needs root', timeout: 180_000 }, async () => {
  const id = shortId();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-vu-'));
  const sock = path.join(tmp, 'dev.sock');
  const prevState = process.env.VNETBENCH_STATE_DIR;
  process.env.VNETBENCH_STATE_DIR = path.join(tmp, 'test-state');
  const ledger = Ledger.create(id);
  let dev: CliRun | undefined;
  try {
    const { ns, tap } = await tapInNamespace(ledger, id, 'vu');
    dev = await startReferenceDevice(['--link', `tap:${tap}`, '--netns', ns], sock, path.join(tmp, 'state'));
    // The checks that need a wire (the whole suite over a wire runs in the loopback test above).
    const r = await conform(['--dut', `vhost-user:${sock}`, '--wire', tap, '--wire-netns', ns, '--only', WIRED], path.join(tmp, 'run'));
    assert.match(String(r.config.wireProbe), /probe frames crossed .* both ways/);
    assert.equal(r.code, 0, r.stderr);
    for (const id of WIRED.split(',')) assert.equal(r.verdicts.get(id)?.outcome, 'pass', `${id}: ${r.verdicts.get(id)?.evidence}`);
  } finally {
    if (dev) await stop(dev);
    const left = await ledger.teardown();
    process.env.VNETBENCH_STATE_DIR = prevState;
    fs.rmSync(tmp, { recursive: true, force: true });
    assert.deepEqual(left, [], 'nothing left');
  }
});

test("a chain returned twice, once, at the device's first TX chain (the wire probe): exit 1 naming S6, where it was seen", { skip: !isRoot() && 'needs root', timeout: 180_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-vu-'));
  const sock = path.join(tmp, 'dev.sock');
  const dev = await startReferenceDevice(['--link', 'loopback', '--fault', 'returns-chain-twice@first'], sock, path.join(tmp, 'state'));
  try {
    // Whatever --only says, the probe's session is judged.
    const r = await conform(['--dut', `vhost-user:${sock}`, '--wire', 'loopback', '--only', 'F3,S6'], path.join(tmp, 'run'));
    assert.equal(r.code, 1, r.stderr);
    const flagged = [...r.verdicts.values()].filter((v) => v.outcome === 'fail' || v.outcome === 'warn').map((v) => v.requirement);
    assert.deepEqual(flagged, ['S6'], r.stdout);
    // The first TX chain of the device's life is the wire probe's: what it saw is judged too.
    assert.match(r.verdicts.get('S6')!.evidence, /seen broken 1× during 1 other check: during wire probe, ring 1, \+\d+ ms: used entry \d+ names id \d+, not a chain in flight/);
    assert.equal(r.verdicts.get('S6')!.checkOutcome, 'pass', 'S6 itself saw a correct device');
    assert.match(r.stdout, /MUST failed: S6/);
  } finally {
    await stop(dev);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('--wire loopback on a device that does not reflect: the probe fails, exit 2, nothing run', { skip: !isRoot() && 'needs root', timeout: 60_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-vu-'));
  const sock = path.join(tmp, 'dev.sock');
  const dev = await startReferenceDevice(['--link', 'none'], sock, path.join(tmp, 'state'));
  try {
    const r = await conform(['--dut', `vhost-user:${sock}`, '--wire', 'loopback'], path.join(tmp, 'run'));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--wire loopback: the probe failed: a probe frame the device transmitted \(TX buffer returned\) did not reach the wire/);
    assert.match(r.stderr, /use --wire loopback only for a device that reflects/);
    assert.equal(fs.existsSync(path.join(tmp, 'run')), false, 'no run directory');
  } finally {
    await stop(dev);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
