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
