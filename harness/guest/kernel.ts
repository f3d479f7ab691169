// Facts about a kernel image file, read from its x86 boot header (the kernel's
// Documentation/arch/x86/boot.rst): it is a bzImage, and which release it is.
import fs from 'node:fs';
import { UsageError } from '../core/errors.ts';

export interface KernelInfo {
  /** `uname -r` of the kernel, e.g. 6.1.0-56-cloud-amd64. */
  release: string;
  /** The whole version string (release, builder, build number, date). */
  version: string;
}

/** Parse a bzImage boot header; undefined fields when it is not one. */
export function parseBzImage(img: Buffer): KernelInfo | undefined {
  // "HdrS" at 0x202; kernel_version (u16 at 0x20e) points to a NUL-terminated string at +0x200.
  if (img.length < 0x300 || img.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  const ptr = img.readUInt16LE(0x20e);
  if (ptr === 0) return undefined;
  const start = ptr + 0x200;
  if (start >= img.length) return undefined;
  const end = img.indexOf(0, start);
  const version = img.toString('latin1', start, end < 0 ? Math.min(img.length, start + 256) : end);
  const release = version.split(' ')[0];
  return release ? { release, version } : undefined;
}

export function kernelInfo(file: string): KernelInfo {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
    throw new UsageError(`kernel ${file} does not exist`, 'pass --kernel PATH to a bzImage (arch/x86/boot/bzImage or /boot/vmlinuz-*)');
  }
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(0x10200 + 256); // the version pointer is a u16 past 0x200
    const n = fs.readSync(fd, head, 0, head.length, 0);
    const info = parseBzImage(head.subarray(0, n));
    if (!info) {
      throw new UsageError(
        `${file} is not an x86 bzImage (no "HdrS" boot header at 0x202)`,
        'pass the compressed boot image (arch/x86/boot/bzImage), not vmlinux',
      );
    }
    return info;
  } finally {
    fs.closeSync(fd);
  }
}

// ---- PVH direct boot --------------------------------------------------------------------------
// QEMU boots an ELF vmlinux that carries a Xen PVH entry note straight into 32-bit protected
// mode: no real-mode setup and no in-guest decompression, which under TCG (where every guest
// instruction is emulated) saves a measurable part of the boot. The vmlinux is the bzImage's own
// payload, decompressed on the host, so the kernel under test is the same code.

const XEN_ELFNOTE_PHYS32_ENTRY = 18;

/** True when `elf` is an ELF64 image with a "Xen" PHYS32_ENTRY note (CONFIG_PVH=y). */
export function hasPvhNote(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  if (phnum > 64 || phoff + phnum * phentsize > elf.length) return false; // bounded walk
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (elf.readUInt32LE(ph) !== 4) continue; // PT_NOTE
    const off = Number(elf.readBigUInt64LE(ph + 8));
    const end = Math.min(off + Number(elf.readBigUInt64LE(ph + 32)), elf.length);
    for (let p = off; p + 12 <= end; ) {
      const namesz = elf.readUInt32LE(p);
      const descsz = elf.readUInt32LE(p + 4);
      const type = elf.readUInt32LE(p + 8);
      const name = elf.toString('latin1', p + 12, p + 12 + Math.max(0, namesz - 1));
      if (name === 'Xen' && type === XEN_ELFNOTE_PHYS32_ENTRY) return true;
      const next = p + 12 + align4(namesz) + align4(descsz);
      if (next <= p) break;
      p = next;
    }
  }
  return false;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

export type PayloadFormat = 'gzip' | 'xz' | 'lz4' | 'zstd' | 'bzip2' | 'lzma' | 'lzo' | 'unknown';

/** Where the compressed vmlinux sits in a bzImage (boot protocol 2.08+), its format and size. */
export function bzImagePayload(img: Buffer): { offset: number; length: number; format: PayloadFormat; size: number } | undefined {
  if (img.length < 0x260 || img.toString('latin1', 0x202, 0x206) !== 'HdrS' || img.readUInt16LE(0x206) < 0x208) return undefined;
  const setupSects = img[0x1f1] || 4;
  const offset = (setupSects + 1) * 512 + img.readUInt32LE(0x248);
  const length = img.readUInt32LE(0x24c);
  if (offset + length > img.length || length < 8) return undefined;
  const m = img.subarray(offset, offset + 6).toString('hex');
  const format: PayloadFormat = m.startsWith('1f8b')
    ? 'gzip'
    : m.startsWith('fd377a585a00')
      ? 'xz'
      : m.startsWith('02214c18')
        ? 'lz4'
        : m.startsWith('28b52ffd')
          ? 'zstd'
          : m.startsWith('425a68')
            ? 'bzip2'
            : m.startsWith('5d00')
              ? 'lzma'
              : m.startsWith('894c5a4f')
                ? 'lzo'
                : 'unknown';
  // The kernel build appends the uncompressed size (u32 LE) to every payload.
  return { offset, length, format, size: img.readUInt32LE(offset + length - 4) };
}
