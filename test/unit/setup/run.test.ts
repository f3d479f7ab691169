// setup's walk over its steps: check mode reports and changes nothing; install mode refuses
// before any change without root or apt; apt-get update runs only when an install needs it.
// Package state comes from the real dpkg-query. Where apt-get itself would change the host, a
// recording runner answers for it instead, and the test says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CapabilityError, UsageError } from '../../../harness/core/errors.ts';
import type { CommandResult } from '../../../harness/core/exec.ts';
import { aptSession } from '../../../harness/setup/apt.ts';
import { packageStep } from '../../../harness/setup/packages.ts';
import { preflight, runSetup, summarize } from '../../../harness/setup/run.ts';
import { realRunner, type CommandRunner } from '../../../harness/setup/runner.ts';
import { parseWith, setupSteps } from '../../../harness/setup/steps.ts';

const ABSENT = 'vnb-no-such-package';

/** Passes every command to the real runner, except apt-get, which it records and answers with success. */
function recordingRunner(): { run: CommandRunner; calls: string[][] } {
  const calls: string[][] = [];
  const run: CommandRunner = async (argv, opts) => {
    calls.push([...argv]);
    if (argv[0] === 'apt-get') {
      return { argv: [...argv], code: 0, signal: null, stdout: '', stderr: '', durationMs: 0 } satisfies CommandResult;
    }
    return realRunner(argv, opts);
  };
  return { run, calls };
}

test('check mode on this machine: an installed package is present, a missing one is listed with its fix', async () => {
  const { run, calls } = recordingRunner();
  const out: string[] = [];
  const outcomes = await runSetup([packageStep({ name: 'dpkg', why: 'w' }), packageStep({ name: ABSENT, why: 'w2' })], {
    mode: 'check',
    run,
    out: (l) => out.push(l),
  });
  assert.deepEqual(outcomes.map((o) => o.state), ['present', 'missing']);
  assert.match(out[0], /^\[1\/2\] package dpkg - w -> already present: \d/);
  assert.match(out[1], /^\[2\/2\] package vnb-no-such-package - w2 -> MISSING: not installed/);
  const summary = summarize(outcomes, 'check');
  assert.match(summary, /1 of 2 missing/);
  assert.match(summary, new RegExp(`fix: apt-get install ${ABSENT}`));
  assert.ok(!calls.some((c) => c[0] === 'apt-get'), 'check mode never runs apt-get');
});

test('install mode with everything present runs no apt-get at all (no update)', async () => {
  const { run, calls } = recordingRunner();
  const outcomes = await runSetup([packageStep({ name: 'dpkg', why: 'w' }), packageStep({ name: 'iproute2', why: 'w' })], { mode: 'install', run });
  assert.deepEqual(outcomes.map((o) => o.state), ['present', 'present']);
  assert.deepEqual(calls.map((c) => c[0]), ['dpkg-query', 'dpkg-query']);
  assert.equal(summarize(outcomes, 'install'), 'setup: 0 installed, 2 already present');
});

test('install mode with a missing package: one update, then the install, then a re-check that catches a failed install', async () => {
  // apt-get is answered by the recorder (it "succeeds" without installing), so the real
  // dpkg-query still finds nothing afterwards: setup must notice rather than report done.
  const { run, calls } = recordingRunner();
  const out: string[] = [];
  await assert.rejects(
    runSetup([packageStep({ name: 'dpkg', why: 'w' }), packageStep({ name: ABSENT, why: 'w' })], { mode: 'install', run, out: (l) => out.push(l) }),
    new RegExp(`package ${ABSENT}: still missing after install: not installed`),
  );
  const apt = calls.filter((c) => c[0] === 'apt-get').map((c) => c.join(' '));
  assert.deepEqual(apt, ['apt-get -q update', `apt-get -q -y install --no-install-recommends ${ABSENT}`]);
  assert.match(out.at(-1)!, /missing \(not installed \(unknown to dpkg\)\), installing$/);
});

test('apt session: update once for several installs; recommends only when asked', async () => {
  const { run, calls } = recordingRunner();
  const apt = aptSession(run, () => {});
  assert.equal(apt.updated, false);
  await apt.install(['a']);
  await apt.install(['b'], { recommends: true });
  assert.equal(apt.updated, true);
  assert.deepEqual(calls.map((c) => c.join(' ')), ['apt-get -q update', 'apt-get -q -y install --no-install-recommends a', 'apt-get -q -y install b']);
});

test('apt session: a failing apt-get is an error naming the packages and the command', async () => {
  const run: CommandRunner = async (argv) => ({ argv: [...argv], code: 100, signal: null, stdout: '', stderr: 'E: Unable to locate package zz', durationMs: 1 });
  await assert.rejects(aptSession(run, () => {}).install(['zz']), /could not update the package lists:[\s\S]*exit 100[\s\S]*Unable to locate/);
});

test('preflight: not root is refused before anything changes', () => {
  assert.throws(() => preflight({ uid: 1000, has: () => true }), (e: unknown) => {
    assert.ok(e instanceof CapabilityError);
    assert.match(e.message, /must run as root \(running as uid 1000\); nothing was changed/);
    assert.match(e.hint!, /--check/);
    return true;
  });
});

test('preflight: no apt-get is refused, naming what is missing', () => {
  assert.throws(() => preflight({ uid: 0, has: (c) => c !== 'apt-get' }), /apt-get not found: .*needs a Debian system with apt; nothing was changed/);
  assert.doesNotThrow(() => preflight({ uid: 0, has: () => true }));
});

test('step selection: base packages, optional groups with --with or --tests, then netperf, then the guest image', () => {
  const names = (s: ReturnType<typeof setupSteps>) => s.map((x) => x.name);
  const base = names(setupSteps());
  for (const p of ['qemu-system-x86', 'iperf3', 'sockperf', 'busybox-static', 'ethtool', 'iproute2', 'liburing2']) {
    assert.ok(base.includes(`package ${p}`), p);
  }
  assert.ok(!base.includes('package dpdk-dev') && !base.includes('package chromium'));
  assert.deepEqual(base.slice(-2), ['netperf 2.7', 'guest image']);
  const tests = names(setupSteps({ tests: true }));
  assert.ok(tests.includes('package dpdk-dev') && tests.includes('package chromium') && tests.includes('package libxml2-utils'));
  const dpdk = names(setupSteps({ with: ['dpdk'] }));
  assert.ok(dpdk.includes('package dpdk-dev') && !dpdk.includes('package chromium'));
  assert.equal(names(setupSteps({ tests: true, with: ['dpdk'] })).filter((n) => n === 'package dpdk-dev').length, 1);
});

test('--with: known groups parse, unknown ones are a usage error listing the choices', () => {
  assert.deepEqual(parseWith('dpdk,chromium'), ['dpdk', 'chromium']);
  assert.deepEqual(parseWith(' dpdk '), ['dpdk']);
  assert.throws(() => parseWith('dpdk,gpu'), (e: unknown) => e instanceof UsageError && /unknown group "gpu"/.test(e.message) && /dpdk, chromium/.test(e.hint!));
  assert.throws(() => parseWith(','), UsageError);
});
