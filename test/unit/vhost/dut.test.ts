import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDut, startDut } from '../../../harness/vhost/dut.ts';
import { UsageError } from '../../../harness/core/errors.ts';
import { Ledger } from '../../../harness/core/ledger.ts';
import { shortId } from '../../../harness/core/names.ts';

test('--dut forms', () => {
  assert.deepEqual(parseDut('testpmd'), { kind: 'testpmd', queues: 1 });
  assert.deepEqual(parseDut('testpmd:queues=2'), { kind: 'testpmd', queues: 2 });
  assert.deepEqual(parseDut('vhost-user:/run/dev.sock'), { kind: 'vhost-user', path: '/run/dev.sock' });
  assert.deepEqual(parseDut('vhost-user:/a:b.sock'), { kind: 'vhost-user', path: '/a:b.sock' });
  assert.deepEqual(parseDut('vhost-net'), { kind: 'vhost-net', backend: 'tap' });
  assert.deepEqual(parseDut('vhost-net:packet'), { kind: 'vhost-net', backend: 'packet' });
});

test('bad --dut values: UsageError saying what is wrong and listing the accepted forms', () => {
  const cases: [string, RegExp][] = [
    ['qemu', /unknown device kind "qemu"/],
    ['vhost-user', /missing the socket path/],
    ['vhost-user:dev.sock', /must be absolute/],
    ['testpmd:queues=0', /queues=N with N in 1\.\.8/],
    ['vhost-net:macvtap', /unknown vhost-net backend "macvtap"/],
  ];
  for (const [v, re] of cases) {
    assert.throws(() => parseDut(v), (e: Error) => e instanceof UsageError && re.test(e.message) && /accepted forms/.test((e as UsageError).hint ?? ''), v);
  }
});

test('vhost-user:/path must name an existing unix socket; nothing is created', async () => {
  const ledger = Ledger.create(`test-dut-${shortId()}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-dut-'));
  try {
    await assert.rejects(startDut(parseDut(`vhost-user:${dir}/none.sock`), ledger), (e: Error) => e instanceof UsageError && /no such file/.test(e.message));
    fs.writeFileSync(path.join(dir, 'plain'), '');
    await assert.rejects(startDut(parseDut(`vhost-user:${dir}/plain`), ledger), /not a unix socket/);
    assert.deepEqual(ledger.live(), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await ledger.teardown();
  }
});
