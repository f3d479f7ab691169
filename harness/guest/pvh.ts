// Turn a bzImage into the vmlinux QEMU can boot directly through its PVH entry (see kernel.ts).
// Decompression runs on the host with the matching tool; when the tool is missing, the format
// is unknown, or the kernel lacks the PVH note, the bzImage is booted as it is (and the reason
// is reported): slower to boot, same kernel.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { exec } from '../core/exec.ts';
import { bzImagePayload, hasPvhNote } from './kernel.ts';

export type VmlinuxResult = { ok: true; vmlinux: Buffer } | { ok: false; reason: string };

// Each tool decompresses <dir>/payload<ext> into <dir>/payload. Success is judged by the output's
// size (checked by the caller against the size the kernel build appended), not the exit code.
const TOOLS: Record<string, { argv: (inFile: string, outFile: string) => string[]; ext: string; pkg: string }> = {
  lz4: { argv: (i, o) => ['lz4', '-d', '-q', '-f', i, o], ext: '.lz4', pkg: 'lz4' },
  xz: { argv: (i) => ['xz', '-d', '-q', '-k', '-f', '--single-stream', i], ext: '.xz', pkg: 'xz-utils' },
  zstd: { argv: (i, o) => ['zstd', '-d', '-q', '-f', i, '-o', o], ext: '.zst', pkg: 'zstd' },
  bzip2: { argv: (i) => ['bzip2', '-d', '-q', '-k', '-f', i], ext: '.bz2', pkg: 'bzip2' },
};

async function decompress(format: string, payload: Buffer): Promise<Buffer | string> {
  if (format === 'gzip') return zlib.gunzipSync(payload);
  const tool = TOOLS[format];
  if (!tool) return `payload format ${format} is not supported here`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-vmlinux-'));
  try {
    const inFile = path.join(dir, `payload${tool.ext}`);
    const outFile = path.join(dir, 'payload');
    fs.writeFileSync(inFile, payload);
    const argv = tool.argv(inFile, outFile);
    const r = await exec(argv, { nothrow: true, timeoutMs: 120_000 }).catch((e: Error) => ({ code: -1, stderr: e.message }));
    if (!fs.existsSync(outFile)) {
      return `${argv[0]} could not decompress the kernel (install Debian package ${tool.pkg}): ${r.stderr.trim().slice(0, 200)}`;
    }
    return fs.readFileSync(outFile);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function extractVmlinux(bzImage: Buffer): Promise<VmlinuxResult> {
  const p = bzImagePayload(bzImage);
  if (!p) return { ok: false, reason: 'no payload fields in the boot header (boot protocol < 2.08)' };
  // The last 4 bytes of the payload are the appended size, not part of the compressed stream.
  const out = await decompress(p.format, bzImage.subarray(p.offset, p.offset + p.length - 4));
  if (typeof out === 'string') return { ok: false, reason: out };
  // Tools that stop at the end of their stream may leave the appended size out: compare prefixes.
  if (out.length < p.size) return { ok: false, reason: `decompressed ${out.length} bytes, the header says ${p.size}` };
  const vmlinux = out.subarray(0, p.size);
  if (!hasPvhNote(vmlinux)) return { ok: false, reason: 'the kernel has no PVH entry note (CONFIG_PVH is not set)' };
  return { ok: true, vmlinux };
}
