// The guest image: a kernel and an initramfs, built from Debian packages (never installed on the
// host) and cached by content. The cache key is the SHA-256 of everything that goes into the image:
// the kernel bytes, the initramfs archive (which is reproducible byte for byte: see cpio.ts, so
// it stands for every package file, library, module, script and the agent), a user's extra
// initramfs, and the compression. Change any input and the key changes; change none and the
// image is reused.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { cacheDir } from '../core/paths.ts';
import { UsageError } from '../core/errors.ts';
import { exec } from '../core/exec.ts';
import { fetchDeb, resolveMeta, type Component, type FetchedDeb } from '../setup/debfetch.ts';
import { writeCpio, type CpioEntry } from './cpio.ts';
import { kernelInfo } from './kernel.ts';
import { extractVmlinux } from './pvh.ts';
import { resolveModules, type ModuleFile } from './modules.ts';
import { libraryEntries, lddLibraries } from './libs.ts';
import type { GuestImage } from './types.ts';

/** Bump when the layout of the image changes in a way its inputs do not show. */
const LAYOUT_VERSION = 2;

const KERNEL_META = 'linux-image-cloud-amd64';
const ROOTFS_SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), 'rootfs');

export const TOOL_PACKAGES: { pkg: string; component?: Component }[] = [
  { pkg: 'busybox-static' },
  { pkg: 'iperf3' },
  { pkg: 'libiperf0' },
  { pkg: 'sockperf' },
  { pkg: 'ethtool' },
  { pkg: 'netperf', component: 'non-free' },
];

/** Programs copied into the guest: package, path inside it, path in the guest. */
const PROGRAMS: [pkg: string, from: string, to: string][] = [
  ['iperf3', 'usr/bin/iperf3', 'usr/bin/iperf3'],
  ['sockperf', 'usr/bin/sockperf', 'usr/bin/sockperf'],
  ['ethtool', 'sbin/ethtool', 'usr/sbin/ethtool'],
  ['netperf', 'usr/bin/netperf', 'usr/bin/netperf'],
  ['netperf', 'usr/bin/netserver', 'usr/bin/netserver'],
];

/**
 * gzip is the classic initramfs; none skips the in-guest inflate of ~17 MiB, which under TCG is
 * the faster boot (see the README's boot-time table) at the price of a larger file on disk.
 */
export type Compression = 'gzip' | 'none';
export const DEFAULT_COMPRESSION: Compression = 'none';

export interface ImageOptions {
  /** A bzImage under test instead of Debian's cloud kernel. */
  kernel?: string;
  /** lib/modules/<release> of that kernel (omit when virtio is built in). */
  modules?: string;
  /** An extra initramfs placed before ours (ours comes last, so its /init wins). */
  initrd?: string;
  force?: boolean;
  compression?: Compression;
  log?: (msg: string) => void;
}

export interface BuiltImage extends GuestImage {
  dir: string;
  cached: boolean;
  /** Wall time of this call (resolving inputs, and building when not cached). */
  elapsedMs: number;
  kernelBytes: number;
  initrdBytes: number;
  /** Uncompressed initramfs size. */
  archiveBytes: number;
  manifest: ImageManifest;
}

export interface ImageManifest {
  hash: string;
  layoutVersion: number;
  kernelRelease: string;
  kernelVersion: string;
  kernelSource: string;
  packages: Record<string, string>;
  modules: string[];
  compression: Compression;
  /** pvh: an ELF vmlinux booted through its PVH entry; bzImage: when that was not possible. */
  bootProtocol: 'pvh' | 'bzImage';
  /** Why the bzImage is booted as it is (no PVH note, no decompressor). */
  pvhUnavailable?: string;
  userInitrd?: string;
  files: number;
  archiveBytes: number;
  initrdBytes: number;
  builtAt: string;
  buildMs: number;
}

export function imagesDir(): string {
  return path.join(cacheDir(), 'images');
}

interface KernelChoice {
  file: string;
  release: string;
  version: string;
  modulesDir?: string;
  source: string;
  packages: Record<string, string>;
}

async function chooseKernel(opts: ImageOptions): Promise<KernelChoice> {
  if (opts.kernel) {
    const file = path.resolve(opts.kernel);
    const info = kernelInfo(file);
    return {
      file,
      ...info,
      modulesDir: opts.modules ? path.resolve(opts.modules) : undefined,
      source: `user: ${file}`,
      packages: {},
    };
  }
  const pkg = await resolveMeta(KERNEL_META, /^linux-image-\d/);
  const deb = await fetchDeb(pkg);
  const release = pkg.replace(/^linux-image-/, '');
  const file = path.join(deb.root, 'boot', `vmlinuz-${release}`);
  const info = kernelInfo(file);
  return {
    file,
    ...info,
    modulesDir: opts.modules ? path.resolve(opts.modules) : path.join(deb.root, 'lib', 'modules', release),
    source: `debian: ${pkg} ${deb.version}`,
    packages: { [pkg]: deb.version },
  };
}

function dirsFor(paths: string[]): CpioEntry[] {
  const dirs = new Set<string>();
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs].sort().map((d) => ({ kind: 'dir', path: d }));
}

function rootfsFile(name: string): Buffer {
  return fs.readFileSync(path.join(ROOTFS_SRC, name));
}

async function busyboxApplets(busybox: string): Promise<string[]> {
  const r = await exec([busybox, '--list']);
  return r.stdout.split('\n').filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox');
}

/** Every file of the initramfs, in archive order. */
async function archiveEntries(debs: Map<string, FetchedDeb>, modules: ModuleFile[]): Promise<CpioEntry[]> {
  const files: CpioEntry[] = [];
  const busybox = path.join(debs.get('busybox-static')!.root, 'bin', 'busybox');
  files.push({ kind: 'file', path: 'bin/busybox', data: fs.readFileSync(busybox), mode: 0o755 });
  const programs = new Set<string>(PROGRAMS.map(([, , to]) => path.basename(to)));
  for (const applet of await busyboxApplets(busybox)) {
    if (!programs.has(applet)) files.push({ kind: 'symlink', path: `bin/${applet}`, target: 'busybox' });
  }
  files.push({ kind: 'symlink', path: 'init', target: 'bin/busybox' });

  const programPaths: string[] = [];
  for (const [pkg, from, to] of PROGRAMS) {
    const src = path.join(debs.get(pkg)!.root, from);
    programPaths.push(src);
    files.push({ kind: 'file', path: to, data: fs.readFileSync(src), mode: 0o755 });
  }
  const libDirs = [...debs.values()].map((d) => path.join(d.root, 'usr', 'lib', 'x86_64-linux-gnu'));
  files.push(...libraryEntries(await lddLibraries(programPaths, libDirs)));

  for (const m of modules) files.push({ kind: 'file', path: `lib/modules/vnb/${m.name}.ko`, data: m.data });
  files.push({ kind: 'file', path: 'etc/vnb/modules', data: Buffer.from(modules.map((m) => `${m.name}\n`).join('')) });
  files.push({ kind: 'file', path: 'etc/vnb/rc', data: rootfsFile('rc'), mode: 0o755 });
  files.push({ kind: 'file', path: 'bin/vnb-agent', data: rootfsFile('agent.sh'), mode: 0o755 });
  files.push({ kind: 'file', path: 'etc/inittab', data: rootfsFile('inittab') });
  files.push({ kind: 'file', path: 'etc/passwd', data: Buffer.from('root:x:0:0:root:/root:/bin/sh\n') });
  files.push({ kind: 'file', path: 'etc/group', data: Buffer.from('root:x:0:\n') });
  files.push({ kind: 'file', path: 'etc/hosts', data: Buffer.from('127.0.0.1 localhost\n') });
  // The kernel opens /dev/console for init before anything can mount devtmpfs.
  files.push({ kind: 'chardev', path: 'dev/console', major: 5, minor: 1 });

  const mountpoints = ['proc', 'sys', 'run', 'tmp', 'root'].map((p): CpioEntry => ({ kind: 'dir', path: p }));
  const dirs = dirsFor(files.map((f) => f.path)).filter((d) => !mountpoints.some((m) => m.path === d.path));
  return [...dirs, ...mountpoints, ...files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))];
}

function sha256(...parts: (Buffer | string)[]): string {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** Resolve every input, hash them, and build only when no image with that hash exists. */
export async function ensureImage(opts: ImageOptions = {}): Promise<BuiltImage> {
  const started = Date.now();
  const log = opts.log ?? (() => {});
  const compression = opts.compression ?? DEFAULT_COMPRESSION;
  if (opts.initrd && !fs.existsSync(opts.initrd)) {
    throw new UsageError(`initrd ${opts.initrd} does not exist`, 'pass --initrd PATH to an initramfs (cpio, optionally compressed)');
  }
  if (opts.modules && !opts.kernel) log('note: --modules without --kernel: checking them against the Debian kernel');

  const kernel = await chooseKernel(opts);
  log(`kernel ${kernel.release} (${kernel.source})`);
  const debs = new Map<string, FetchedDeb>();
  for (const p of TOOL_PACKAGES) debs.set(p.pkg, await fetchDeb(p.pkg, { component: p.component }));
  const modules = kernel.modulesDir ? await resolveModules(kernel.modulesDir, undefined, kernel.release) : [];
  if (!kernel.modulesDir) log('no --modules: assuming virtio_pci, virtio_net and virtio_console are built into the kernel');

  const entries = await archiveEntries(debs, modules);
  const archive = writeCpio(entries);
  const kernelBytes = fs.readFileSync(kernel.file);
  const userInitrd = opts.initrd ? fs.readFileSync(opts.initrd) : Buffer.alloc(0);
  // The vmlinux for PVH boot is derived from the kernel bytes, so it is not hashed separately
  // (an image built while no decompressor was installed keeps its bzImage until --force).
  const hash = sha256(
    `vnetbench-image ${LAYOUT_VERSION} ${compression}\n`,
    sha256(kernelBytes),
    sha256(userInitrd),
    sha256(archive),
  );
  const dir = path.join(imagesDir(), hash.slice(0, 16));
  const manifestFile = path.join(dir, 'manifest.json');

  if (!opts.force && fs.existsSync(manifestFile)) {
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as ImageManifest;
    if (manifest.hash === hash) return result(dir, manifest, true, started);
  }

  const buildStart = Date.now();
  const pvh = await extractVmlinux(kernelBytes);
  if (!pvh.ok) log(`booting the bzImage as it is: ${pvh.reason}`);
  const bootProtocol = pvh.ok ? 'pvh' : 'bzImage';
  const ours = compression === 'gzip' ? zlib.gzipSync(archive) : archive;
  const initrd = Buffer.concat([userInitrd, ours]);
  const packages: Record<string, string> = { ...kernel.packages };
  for (const d of debs.values()) packages[d.pkg] = d.version;
  const manifest: ImageManifest = {
    hash,
    layoutVersion: LAYOUT_VERSION,
    kernelRelease: kernel.release,
    kernelVersion: kernel.version,
    kernelSource: kernel.source,
    packages,
    modules: modules.map((m) => m.name),
    compression,
    bootProtocol,
    pvhUnavailable: pvh.ok ? undefined : pvh.reason,
    userInitrd: opts.initrd ? path.resolve(opts.initrd) : undefined,
    files: entries.length,
    archiveBytes: archive.length,
    initrdBytes: initrd.length,
    builtAt: new Date().toISOString(),
    buildMs: 0,
  };
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  fs.writeFileSync(path.join(tmp, kernelFileName(bootProtocol)), pvh.ok ? pvh.vmlinux : kernelBytes);
  fs.writeFileSync(path.join(tmp, 'initrd.img'), initrd);
  manifest.buildMs = Date.now() - buildStart;
  fs.writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  fs.rmSync(dir, { recursive: true, force: true });
  try {
    fs.renameSync(tmp, dir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Another process built the same image at the same moment: theirs is identical.
    if (!fs.existsSync(manifestFile)) throw err;
  }
  log(`built image ${hash.slice(0, 16)} in ${manifest.buildMs} ms`);
  return result(dir, manifest, false, started);
}

function kernelFileName(p: ImageManifest['bootProtocol']): string {
  return p === 'pvh' ? 'vmlinux' : 'vmlinuz';
}

function result(dir: string, manifest: ImageManifest, cached: boolean, started: number): BuiltImage {
  const kernel = path.join(dir, kernelFileName(manifest.bootProtocol));
  const initrd = path.join(dir, 'initrd.img');
  return {
    kernel,
    initrd,
    hash: manifest.hash,
    kernelRelease: manifest.kernelRelease,
    dir,
    cached,
    elapsedMs: Date.now() - started,
    kernelBytes: fs.statSync(kernel).size,
    initrdBytes: fs.statSync(initrd).size,
    archiveBytes: manifest.archiveBytes,
    manifest,
  };
}

/** Cached images other than `keep` (each is a dir under imagesDir()), with their sizes. */
export function otherImages(keep: string): { dir: string; bytes: number }[] {
  const root = imagesDir();
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .map((d) => path.join(root, d))
    .filter((d) => path.resolve(d) !== path.resolve(keep))
    .map((dir) => ({
      dir,
      bytes: fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0),
    }));
}
