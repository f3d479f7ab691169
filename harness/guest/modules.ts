// Kernel modules for the guest: find the ones we need in a modules tree (Debian's or a user's),
// add their dependencies, and order them so each is inserted after what it depends on
// (busybox insmod does no dependency resolution). Dependencies come from each module's own
// .modinfo "depends=" string, so no modules.dep (depmod) is needed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { exec } from '../core/exec.ts';
import { UsageError } from '../core/errors.ts';

/** What the guest needs: the virtio PCI transport, virtio-net, and virtio-serial for the agent. */
export const GUEST_MODULES = [
  'virtio_ring',
  'virtio',
  'virtio_pci_modern_dev',
  'virtio_pci_legacy_dev',
  'virtio_pci',
  'virtio_console',
  'failover',
  'net_failover',
  'virtio_net',
] as const;

export interface ModuleFile {
  name: string;
  data: Buffer; // uncompressed .ko
  depends: string[];
  vermagic?: string;
}

const KO = /\.ko(\.xz|\.zst|\.gz)?$/;

export function normalize(name: string): string {
  return name.replace(/-/g, '_');
}

/** key=value strings of the .modinfo section, found by their NUL delimiters in the ELF image. */
export function modinfoField(ko: Buffer, key: string): string | undefined {
  const needle = Buffer.from(`\0${key}=`, 'latin1');
  const at = ko.indexOf(needle);
  if (at < 0) return undefined;
  const start = at + needle.length;
  const end = ko.indexOf(0, start);
  return ko.toString('utf8', start, end < 0 ? ko.length : end);
}

function indexTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string, depth: number): void => {
    if (depth > 12) return; // a modules tree is a few levels deep; a symlink loop is not
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) walk(p, depth + 1);
      else if (KO.test(ent.name)) {
        const name = normalize(ent.name.replace(KO, ''));
        if (!out.has(name)) out.set(name, p);
      }
    }
  };
  walk(dir, 0);
  return out;
}

/** Names listed in modules.builtin (built into the kernel, so nothing to insert). */
export function builtinModules(dir: string): Set<string> {
  const f = path.join(dir, 'modules.builtin');
  if (!fs.existsSync(f)) return new Set();
  return new Set(
    fs
      .readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => normalize(path.basename(l).replace(KO, ''))),
  );
}

async function readKo(file: string): Promise<Buffer> {
  if (file.endsWith('.ko')) return fs.readFileSync(file);
  if (file.endsWith('.gz')) return zlib.gunzipSync(fs.readFileSync(file));
  // busybox insmod in the guest takes plain ELF only: decompress on the host, in a scratch copy.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-ko-'));
  try {
    const copy = path.join(tmp, path.basename(file));
    fs.copyFileSync(file, copy);
    await exec(file.endsWith('.xz') ? ['xz', '-d', copy] : ['zstd', '-d', '-q', '--rm', copy]);
    return fs.readFileSync(copy.replace(/\.(xz|zst)$/, ''));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The modules to insert, dependencies first. Modules built into the kernel are skipped; a module
 * neither present nor built in is an error naming the directory.
 */
export async function resolveModules(
  dir: string,
  wanted: readonly string[] = GUEST_MODULES,
  kernelRelease?: string,
): Promise<ModuleFile[]> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new UsageError(`modules directory ${dir} does not exist`, 'pass --modules DIR, the lib/modules/<release> directory of the kernel under test');
  }
  const files = indexTree(dir);
  const builtin = builtinModules(dir);
  const loaded = new Map<string, ModuleFile>();
  const order: ModuleFile[] = [];
  const visiting = new Set<string>();

  const visit = async (name: string, chain: string[]): Promise<void> => {
    if (loaded.has(name) || builtin.has(name)) return;
    if (visiting.has(name)) throw new Error(`module dependency cycle: ${[...chain, name].join(' -> ')}`);
    const file = files.get(name);
    if (!file) {
      throw new UsageError(
        `kernel module ${name} is neither in ${dir} nor listed in its modules.builtin` +
          (chain.length ? ` (needed by ${chain.join(' -> ')})` : ''),
        'the guest needs virtio PCI, virtio-net and virtio-console: build them as modules or into the kernel',
      );
    }
    visiting.add(name);
    const data = await readKo(file);
    const depends = (modinfoField(data, 'depends') ?? '').split(',').filter(Boolean).map(normalize);
    const mod: ModuleFile = { name, data, depends, vermagic: modinfoField(data, 'vermagic') };
    if (kernelRelease && mod.vermagic && mod.vermagic.split(' ')[0] !== kernelRelease) {
      throw new UsageError(
        `module ${file} was built for ${mod.vermagic.split(' ')[0]}, the kernel is ${kernelRelease}`,
        'pass the modules directory that belongs to the kernel (make modules_install INSTALL_MOD_PATH=...)',
      );
    }
    for (const d of depends) await visit(d, [...chain, name]);
    visiting.delete(name);
    loaded.set(name, mod);
    order.push(mod);
  };

  for (const w of wanted) await visit(normalize(w), []);
  return order;
}
