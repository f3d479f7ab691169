// The ledger's bookkeeping, on files in a temp state dir (file and tmpdir objects only: no host
// network objects in unit tests).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ledger, objectKey, TEARDOWN_ORDER } from '../../../harness/core/ledger.ts';

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-unit-'));
  process.env.VNETBENCH_STATE_DIR = path.join(dir, 'state');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('records its owner; live() ignores removed objects and torn lines', () => {
  const l = Ledger.create('aaaaaa');
  assert.equal(l.owner()?.pid, process.pid);
  assert.equal(l.ownerAlive(), false, 'our own ledger is not "another live run"');
  const f = { kind: 'file', path: path.join(dir, 'x') } as const;
  l.add(f);
  l.add({ kind: 'tmpdir', path: path.join(dir, 'd') });
  l.removed(f);
  fs.appendFileSync(l.file, '{"op":"add","obj":{"kind":"fi'); // a crash mid-write
  assert.deepEqual(l.live(), [{ kind: 'tmpdir', path: path.join(dir, 'd') }]);
});

test('a setting recorded twice keeps the first (original) value', () => {
  const l = Ledger.create('bbbbbb');
  l.add({ kind: 'link-settings', name: 'p0', restore: { up: false } });
  l.add({ kind: 'link-settings', name: 'p0', restore: { up: true } });
  l.add({ kind: 'link-settings', name: 'p0', restore: { offloads: { tso: 'on' } } });
  assert.deepEqual(
    l.live().map((o) => (o.kind === 'link-settings' ? o.restore : null)),
    [{ offloads: { tso: 'on' } }, { up: false }],
  );
});

test('teardown removes files and dirs, deletes the ledger, and refuses new records', async () => {
  const l = Ledger.create('cccccc');
  const d = path.join(dir, 'tdir');
  const f = path.join(d, 'sock');
  l.add({ kind: 'tmpdir', path: d });
  fs.mkdirSync(d);
  l.add({ kind: 'file', path: f });
  fs.writeFileSync(f, '');
  const shared = path.join(dir, 'shared');
  l.add({ kind: 'tmpdir', path: shared, onlyIfEmpty: true });
  fs.mkdirSync(shared);
  fs.writeFileSync(path.join(shared, 'someone-else'), '');
  const log: string[] = [];
  assert.deepEqual(await l.teardown((m) => log.push(m)), []);
  assert.equal(fs.existsSync(d), false);
  assert.equal(fs.existsSync(path.join(shared, 'someone-else')), true, 'a shared dir is removed only when empty');
  assert.equal(fs.existsSync(l.file), false);
  assert.deepEqual(await l.teardown(), [], 'idempotent');
  assert.throws(() => l.add({ kind: 'file', path: f }), /being torn down/);
  assert.equal(log.length, 3);
});

test('teardown waits for a creation in flight, then removes what it made', async () => {
  const l = Ledger.create('dddddd');
  const f = path.join(dir, 'late');
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const making = l.make({ kind: 'file', path: f }, async () => {
    await gate;
    fs.writeFileSync(f, 'created after teardown began');
  });
  const torn = l.teardown();
  release();
  await making;
  assert.deepEqual(await torn, []);
  assert.equal(fs.existsSync(f), false);
});

test('a scope releases only what it recorded', async () => {
  const l = Ledger.create('eeeeee');
  const mine = path.join(dir, 'mine');
  const theirs = path.join(dir, 'theirs');
  l.add({ kind: 'file', path: theirs });
  fs.writeFileSync(theirs, '');
  const s = l.scope();
  s.add({ kind: 'file', path: mine });
  fs.writeFileSync(mine, '');
  assert.deepEqual(await s.release(), []);
  assert.equal(fs.existsSync(mine), false);
  assert.equal(fs.existsSync(theirs), true);
  assert.deepEqual(l.live(), [{ kind: 'file', path: theirs }]);
  await l.teardown();
});

test('Ledger.list finds ledgers; teardown order puts processes first and files last', () => {
  assert.ok(Ledger.list().every((f) => f.endsWith('.jsonl')));
  assert.deepEqual(TEARDOWN_ORDER, ['process', 'link-settings', 'link', 'moved-link', 'netns', 'file', 'tmpdir']);
  assert.equal(objectKey({ kind: 'moved-link', name: 'p1', netns: 'n', restore: {} }), 'moved-link:p1');
});
