// A "newc" cpio writer (the format the kernel unpacks as initramfs, see the kernel's
// Documentation/driver-api/early-userspace/buffer-format.rst). Written here rather than with
// cpio(1) so the archive is byte-for-byte reproducible (owner 0, mtime 0, inode numbers by
// position) and can hold /dev/console without mknod on the build host.

export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Buffer; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function header(fields: { ino: number; mode: number; nlink: number; size: number; rmaj: number; rmin: number; name: string }): Buffer {
  const name = Buffer.from(`${fields.name}\0`, 'utf8');
  const h =
    '070701' +
    [fields.ino, fields.mode, 0, 0, fields.nlink, 0, fields.size, 0, 0, fields.rmaj, fields.rmin, name.length, 0]
      .map(hex8)
      .join('');
  const head = Buffer.concat([Buffer.from(h, 'ascii'), name]);
  return Buffer.concat([head, Buffer.alloc(pad4(head.length))]);
}

function modeOf(e: CpioEntry): number {
  switch (e.kind) {
    case 'dir':
      return S_IFDIR | (e.mode ?? 0o755);
    case 'file':
      return S_IFREG | (e.mode ?? 0o644);
    case 'symlink':
      return S_IFLNK | 0o777;
    case 'chardev':
      return S_IFCHR | (e.mode ?? 0o600);
  }
}

/** Archive paths are relative ("bin/busybox"); parents must come before their children. */
export function checkOrder(entries: readonly CpioEntry[]): void {
  const seen = new Set<string>(['']);
  for (const e of entries) {
    if (e.path.startsWith('/') || e.path.split('/').includes('..') || e.path === '') {
      throw new Error(`cpio: bad archive path "${e.path}" (relative, no "..")`);
    }
    const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : '';
    if (!seen.has(parent)) throw new Error(`cpio: ${e.path} comes before its directory ${parent}`);
    if (seen.has(e.path)) throw new Error(`cpio: ${e.path} appears twice`);
    seen.add(e.path);
  }
}

export function writeCpio(entries: readonly CpioEntry[]): Buffer {
  checkOrder(entries);
  const parts: Buffer[] = [];
  entries.forEach((e, i) => {
    const data =
      e.kind === 'file' ? e.data : e.kind === 'symlink' ? Buffer.from(e.target, 'utf8') : Buffer.alloc(0);
    parts.push(
      header({
        ino: i + 1,
        mode: modeOf(e),
        nlink: e.kind === 'dir' ? 2 : 1,
        size: data.length,
        rmaj: e.kind === 'chardev' ? e.major : 0,
        rmin: e.kind === 'chardev' ? e.minor : 0,
        name: e.path,
      }),
      data,
      Buffer.alloc(pad4(data.length)),
    );
  });
  parts.push(header({ ino: 0, mode: 0, nlink: 1, size: 0, rmaj: 0, rmin: 0, name: 'TRAILER!!!' }));
  return Buffer.concat(parts);
}
