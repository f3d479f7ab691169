// `vnetbench backend aio-tap` as a user runs it: bad input exits 2 with the reason and creates
// nothing; a running device answers a front-end, and SIGTERM stops it cleanly (socket removed,
// counters printed, ledger closed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exec } from '../../../harness/core/exec.ts';
import { nsName, shortId, ifName } from '../../../harness/core/names.ts';
import { VhostUserFrontend } from '../../../harness/vhost/vhost-user-frontend.ts';
import { F, has } from '../../../harness/virtio/features.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { Ledger, processStartTime } from '../../../harness/core/ledger.ts';
import { PROJECT_ROOT } from '../../../harness/core/paths.ts';
import { cliArgv, runCli } from '../../helpers/cli.ts';
import { isRoot } from '../topology/host-state.ts';

const skip = !isRoot() && 'needs root';

test('bad input: exit 2, the reason and a hint, nothing created', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-aio-cli-'));
  const sock = path.join(tmp, 'x.sock');
  for (const [args, re] of [
    [['--socket', sock], /name exactly one of --tap IFNAME or --macvtap IFNAME/],
    [['--socket', sock, '--tap', 't0', '--engine', 'spdk'], /--engine "spdk": unknown engine[\s\S]*hint: use one of: io_uring, linux-aio/],
    [['--socket', sock, '--tap', 't0', '--queues', '0'], /--queues "0": expected a whole number from 1 to 16/],
  ] as const) {
    const r = runCli(['backend', 'aio-tap', ...args], { env: { VNETBENCH_STATE_DIR: path.join(tmp, 'state') } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
  }
  assert.deepEqual(fs.readdirSync(tmp), [], 'no socket, no ledger');
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a running device serves a front-end and stops cleanly on SIGTERM', { skip, timeout: 60_000 }, async () => {
  const id = shortId();
  const ns = nsName(id, 'cli');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-aio-cli-'));
  const sock = path.join(tmp, 'dev.sock');
  const prevState = process.env.VNETBENCH_STATE_DIR;
  process.env.VNETBENCH_STATE_DIR = path.join(tmp, 'test-state');
  const ledger = Ledger.create(id);
  ledger.add({ kind: 'netns', name: ns });
  await exec(['ip', 'netns', 'add', ns]);
  let child: ChildProcess | undefined;
  try {
    // `ip netns exec` execs the CLI, so the signal below reaches it directly.
    const argv = ['ip', 'netns', 'exec', ns, ...cliArgv(['backend', 'aio-tap', '--socket', sock, '--tap', ifName(id, 'x'), '--engine', 'linux-aio'])];
    const c = spawn(argv[0]!, argv.slice(1), { cwd: PROJECT_ROOT, env: { ...process.env, VNETBENCH_STATE_DIR: path.join(tmp, 'state') }, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    // Recorded, so a failing test still leaves nothing running.
    ledger.add({ kind: 'process', pid: c.pid!, startTime: processStartTime(c.pid!) ?? '', comm: 'node' });
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => c.on('close', (code, signal) => r({ code, signal })));
    const run = { child: c, exit: exited, stderr: () => stderr };
    for (let i = 0; i < 300 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(fs.existsSync(sock), `socket created: ${run.stderr()}`);
    const s = VhostUserFrontend.connect(sock);
    const f = await s.getFeatures();
    assert.ok(has(f, F.F_VERSION_1) && has(f, F.NET_F_MRG_RXBUF) && has(f, F.F_EVENT_IDX));
    assert.equal(await s.getProtocolFeatures(), 0x12009n, 'MQ, REPLY_ACK, RESET_DEVICE, STATUS');
    await s.close();
    run.child.kill('SIGTERM');
    const exit = await run.exit;
    assert.ok(exit.code === 143 || exit.code === 0, `exit ${exit.code} ${exit.signal}`);
    assert.equal(fs.existsSync(sock), false, 'socket removed');
    assert.match(run.stderr(), /aio-tap: listening on/);
    const ledgers = path.join(tmp, 'state', 'ledgers');
    assert.deepEqual(fs.existsSync(ledgers) ? fs.readdirSync(ledgers) : [], [], 'ledger closed');
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    const left = await ledger.teardown();
    process.env.VNETBENCH_STATE_DIR = prevState;
    fs.rmSync(tmp, { recursive: true, force: true });
    assert.deepEqual(left, [], 'nothing left');
  }
});
