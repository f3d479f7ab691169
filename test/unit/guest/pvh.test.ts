// PVH direct boot: the vmlinux inside a bzImage is found from the boot header, decompressed on
// the host, and used only when it carries the PVH entry note. All inputs here are CONSTRUCTED:
// a minimal ELF64 with (or without) a Xen PHYS32_ENTRY note, wrapped in a boot header laid out
// per the x86 boot protocol 2.08+, compressed with each available tool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { bzImagePayload, hasPvhNote } from '../../../harness/guest/kernel.ts';
import { extractVmlinux } from '../../../harness/guest/pvh.ts';
import { exec, succeeds } from '../../../harness/core/exec.ts';

function elfWithNote(noteName: string, noteType: number): Buffer {
  const name = Buffer.from(`${noteName}\0`);
  const namePad = Buffer.alloc((4 - (name.length % 4)) % 4);
  const desc = Buffer.alloc(8, 0xab);
  const note = Buffer.alloc(12);
  note.writeUInt32LE(name.length, 0);
  note.writeUInt32LE(desc.length, 4);
  note.writeUInt32LE(noteType, 8);
  const noteBytes = Buffer.concat([note, name, namePad, desc]);
  const ehdr = Buffer.alloc(64);
  ehdr.writeUInt32BE(0x7f454c46, 0);
  ehdr[4] = 2; // ELFCLASS64
  ehdr[5] = 1; // little endian
  ehdr.writeBigUInt64LE(64n, 0x20); // e_phoff
  ehdr.writeUInt16LE(56, 0x36); // e_phentsize
  ehdr.writeUInt16LE(1, 0x38); // e_phnum
  const phdr = Buffer.alloc(56);
  phdr.writeUInt32LE(4, 0); // PT_NOTE
  phdr.writeBigUInt64LE(120n, 8); // p_offset
  phdr.writeBigUInt64LE(BigInt(noteBytes.length), 32); // p_filesz
  // Some bulk so compressors have something to do.
  return Buffer.concat([ehdr, phdr, noteBytes, Buffer.alloc(64 * 1024, 0x90)]);
}

function bzImage(payload: Buffer, size: number): Buffer {
  const setupSects = 4;
  const head = Buffer.alloc((setupSects + 1) * 512);
  head[0x1f1] = setupSects;
  head.write('HdrS', 0x202, 'latin1');
  head.writeUInt16LE(0x020f, 0x206);
  head.writeUInt32LE(0x40, 0x248); // payload_offset, relative to the protected-mode code
  const withSize = Buffer.concat([payload, Buffer.alloc(4)]);
  withSize.writeUInt32LE(size, payload.length);
  head.writeUInt32LE(withSize.length, 0x24c);
  return Buffer.concat([head, Buffer.alloc(0x40), withSize, Buffer.alloc(100)]);
}

test('the PVH note is recognised; other notes are not', () => {
  assert.equal(hasPvhNote(elfWithNote('Xen', 18)), true);
  assert.equal(hasPvhNote(elfWithNote('Xen', 17)), false);
  assert.equal(hasPvhNote(elfWithNote('GNU', 18)), false);
  assert.equal(hasPvhNote(Buffer.from('not an elf at all, certainly not one with notes in it......')), false);
});

test('payload location, format and size come from the boot header', () => {
  const elf = elfWithNote('Xen', 18);
  const img = bzImage(zlib.gzipSync(elf), elf.length);
  const p = bzImagePayload(img)!;
  assert.equal(p.format, 'gzip');
  assert.equal(p.size, elf.length);
  assert.equal(p.offset, 5 * 512 + 0x40);
  assert.equal(bzImagePayload(Buffer.alloc(4096)), undefined);
});

async function compressWith(argv: (input: string, output: string) => string[], data: Buffer): Promise<Buffer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-pvh-test-'));
  try {
    const input = path.join(dir, 'vmlinux');
    const output = path.join(dir, 'vmlinux.compressed');
    fs.writeFileSync(input, data);
    await exec(argv(input, output));
    return fs.readFileSync(output);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// The kernel's own build compresses the same way: lz4 legacy frames, xz with CRC32.
const formats: [name: string, check: string[], compress: (d: Buffer) => Promise<Buffer>][] = [
  ['gzip', [], async (d) => zlib.gzipSync(d)],
  ['lz4', ['lz4', '--version'], (d) => compressWith((i, o) => ['lz4', '-q', '-f', '-l', '-9', i, o], d)],
  ['xz', ['xz', '--version'], (d) => compressWith((i, o) => ['sh', '-c', 'xz -q -c --check=crc32 "$0" > "$1"', i, o], d)],
  ['zstd', ['zstd', '--version'], (d) => compressWith((i, o) => ['zstd', '-q', '-f', i, '-o', o], d)],
];

for (const [name, check, compress] of formats) {
  test(`a ${name} payload with the PVH note gives back the exact vmlinux`, async (t) => {
    if (check.length && !(await succeeds(check))) return t.skip(`${check[0]} not installed`);
    const elf = elfWithNote('Xen', 18);
    const r = await extractVmlinux(bzImage(await compress(elf), elf.length));
    assert.ok(r.ok, r.ok ? '' : r.reason);
    assert.ok(r.vmlinux.equals(elf));
  });
}

test('a kernel without the PVH note is booted as a bzImage, with the reason', async () => {
  const elf = elfWithNote('Xen', 17);
  const r = await extractVmlinux(bzImage(zlib.gzipSync(elf), elf.length));
  assert.deepEqual(r, { ok: false, reason: 'the kernel has no PVH entry note (CONFIG_PVH is not set)' });
});

test('a truncated payload is refused, not booted', async () => {
  const elf = elfWithNote('Xen', 18);
  const r = await extractVmlinux(bzImage(zlib.gzipSync(elf), elf.length + 4096));
  assert.equal(r.ok, false);
});
