// The initramfs writer: newc headers as the kernel reads them, byte-for-byte reproducible, and
// readable by GNU cpio where it is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeCpio, type CpioEntry } from '../../../harness/guest/cpio.ts';
import { exec, succeeds } from '../../../harness/core/exec.ts';

const entries: CpioEntry[] = [
  { kind: 'dir', path: 'bin' },
  { kind: 'file', path: 'bin/busybox', data: Buffer.from('#!fake\n'), mode: 0o755 },
  { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
  { kind: 'dir', path: 'dev' },
  { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
  { kind: 'file', path: 'empty', data: Buffer.alloc(0) },
];

interface Parsed {
  name: string;
  mode: number;
  size: number;
  rdev: [number, number];
  data: Buffer;
}

/** A reader written from the format description, independent of the writer. */
function readNewc(buf: Buffer): Parsed[] {
  const out: Parsed[] = [];
  let off = 0;
  for (;;) {
    assert.equal(buf.toString('ascii', off, off + 6), '070701', `magic at ${off}`);
    const field = (i: number) => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const [mode, size, rmaj, rmin, namesize] = [field(1), field(6), field(9), field(10), field(11)];
    const name = buf.toString('utf8', off + 110, off + 110 + namesize - 1);
    assert.equal(buf[off + 110 + namesize - 1], 0, 'name is NUL-terminated');
    let p = off + 110 + namesize;
    p += (4 - (p % 4)) % 4;
    const data = buf.subarray(p, p + size);
    p += size;
    p += (4 - (p % 4)) % 4;
    if (name === 'TRAILER!!!') return out;
    out.push({ name, mode, size, rdev: [rmaj, rmin], data });
    off = p;
  }
}

test('entries come out with type bits, permissions, device numbers and data', () => {
  const got = readNewc(writeCpio(entries));
  assert.deepEqual(got.map((e) => e.name), entries.map((e) => e.path));
  assert.equal(got[0].mode, 0o040755);
  assert.equal(got[1].mode, 0o100755);
  assert.equal(got[1].data.toString(), '#!fake\n');
  assert.equal(got[2].mode, 0o120777);
  assert.equal(got[2].data.toString(), 'busybox');
  assert.equal(got[4].mode, 0o020600);
  assert.deepEqual(got[4].rdev, [5, 1]);
  assert.equal(got[5].size, 0);
});

test('the same entries give the same bytes (the image cache key relies on it)', () => {
  assert.ok(writeCpio(entries).equals(writeCpio(entries)));
  const changed = entries.map((e) => (e.path === 'bin/busybox' ? { ...e, data: Buffer.from('#!other\n') } : e));
  assert.ok(!writeCpio(entries).equals(writeCpio(changed as CpioEntry[])));
});

test('bad archive orders and paths are refused', () => {
  assert.throws(() => writeCpio([{ kind: 'file', path: 'bin/x', data: Buffer.alloc(1) }]), /before its directory bin/);
  assert.throws(() => writeCpio([{ kind: 'dir', path: '/abs' }]), /bad archive path/);
  assert.throws(() => writeCpio([{ kind: 'dir', path: 'a/../b' }]), /bad archive path/);
  assert.throws(() => writeCpio([{ kind: 'dir', path: 'a' }, { kind: 'dir', path: 'a' }]), /appears twice/);
});

test('GNU cpio lists the archive the same way', async (t) => {
  if (!(await succeeds(['cpio', '--version']))) return t.skip('cpio(1) not installed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-cpio-test-'));
  try {
    const file = path.join(dir, 'a.cpio');
    fs.writeFileSync(file, writeCpio(entries));
    const r = await exec(['cpio', '-it', '--quiet', '-F', file]);
    assert.deepEqual(r.stdout.trim().split('\n'), entries.map((e) => e.path));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
