// Kernel boot-header parsing and module resolution. Inputs here are CONSTRUCTED (not recorded):
// a boot header laid out per the kernel's x86 boot protocol, and .ko stand-ins that carry only
// the NUL-separated .modinfo strings the resolver reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseBzImage } from '../../../harness/guest/kernel.ts';
import { modinfoField, resolveModules } from '../../../harness/guest/modules.ts';
import { UsageError } from '../../../harness/core/errors.ts';

function bzImage(version: string, ptr = 0x4280): Buffer {
  const b = Buffer.alloc(ptr + 0x200 + version.length + 16);
  b.write('HdrS', 0x202, 'latin1');
  b.writeUInt16LE(ptr, 0x20e);
  b.write(`${version}\0`, ptr + 0x200, 'latin1');
  return b;
}

test('the release comes from the boot header\'s kernel_version string', () => {
  const v = '6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2';
  assert.deepEqual(parseBzImage(bzImage(v)), { release: '6.1.0-56-cloud-amd64', version: v });
});

test('not a bzImage: no HdrS, or no version pointer', () => {
  assert.equal(parseBzImage(Buffer.alloc(0x1000)), undefined);
  const noPtr = bzImage('x', 0x4280);
  noPtr.writeUInt16LE(0, 0x20e);
  assert.equal(parseBzImage(noPtr), undefined);
  assert.equal(parseBzImage(Buffer.from('\x7fELF')), undefined);
});

function ko(fields: Record<string, string>): Buffer {
  const info = Object.entries(fields).map(([k, v]) => `${k}=${v}`).join('\0');
  return Buffer.concat([Buffer.from('\x7fELF-standin'), Buffer.from(`\0${info}\0`), Buffer.from('tail')]);
}

test('modinfo fields are read from the NUL-separated strings', () => {
  const b = ko({ name: 'virtio_net', depends: 'net_failover,virtio,virtio_ring', vermagic: '6.1.0-56-cloud-amd64 SMP mod_unload' });
  assert.equal(modinfoField(b, 'depends'), 'net_failover,virtio,virtio_ring');
  assert.equal(modinfoField(b, 'vermagic'), '6.1.0-56-cloud-amd64 SMP mod_unload');
  assert.equal(modinfoField(b, 'license'), undefined);
});

function tree(mods: Record<string, string>, builtin: string[] = []): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-mods-test-'));
  for (const [rel, depends] of Object.entries(mods)) {
    const f = path.join(dir, 'kernel', rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, ko({ depends, vermagic: '6.9.0-test SMP' }));
  }
  fs.writeFileSync(path.join(dir, 'modules.builtin'), builtin.map((b) => `kernel/${b}\n`).join(''));
  return dir;
}

test('dependencies are inserted first, each module once', async (t) => {
  const dir = tree({
    'drivers/virtio/virtio_ring.ko': '',
    'drivers/virtio/virtio.ko': '',
    'drivers/net/virtio_net.ko': 'net_failover,virtio,virtio_ring',
    'drivers/net/net_failover.ko': 'failover',
    'net/core/failover.ko': '',
  });
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const order = (await resolveModules(dir, ['virtio_net', 'virtio'], '6.9.0-test')).map((m) => m.name);
  assert.deepEqual(order, ['failover', 'net_failover', 'virtio', 'virtio_ring', 'virtio_net']);
});

test('built-in modules are skipped; a module neither present nor built in is a usage error', async (t) => {
  const dir = tree({ 'drivers/net/virtio_net.ko': 'virtio' }, ['drivers/virtio/virtio.ko']);
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  assert.deepEqual((await resolveModules(dir, ['virtio_net'])).map((m) => m.name), ['virtio_net']);
  await assert.rejects(resolveModules(dir, ['virtio_console']), (e: unknown) => e instanceof UsageError && /virtio_console is neither in/.test(e.message));
});

test('modules built for another kernel are refused with both releases named', async (t) => {
  const dir = tree({ 'drivers/virtio/virtio.ko': '' });
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(resolveModules(dir, ['virtio'], '6.1.0-56-cloud-amd64'), /built for 6\.9\.0-test, the kernel is 6\.1\.0-56-cloud-amd64/);
});

test('a missing modules directory is a usage error', async () => {
  await assert.rejects(resolveModules('/nonexistent/vnb', ['virtio']), UsageError);
});
