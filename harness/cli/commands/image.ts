// `vnetbench image build`: make (or find in the cache) the guest kernel + initramfs.
// `vnetbench image boot`: boot it N times with a NIC on an empty QEMU hub (no host network at
// all) and print boot-to-ready for each boot and the median: the figure the boot target is about.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.ts';
import { Ledger } from '../../core/ledger.ts';
import { withLedger } from '../../core/lifecycle.ts';
import { shortId } from '../../core/names.ts';
import { DEFAULT_COMPRESSION, ensureImage, otherImages, type BuiltImage, type ImageOptions } from '../../guest/image.ts';
import { launchGuest } from '../../guest/qemu.ts';
import { DEFAULT_TUNING, type BootTuning } from '../../guest/cmdline.ts';

interface ImageFlags {
  compression?: string;
  kernel?: string;
  initrd?: string;
  modules?: string;
  force?: boolean;
  json?: boolean;
}

interface BootFlags extends ImageFlags {
  count: string;
  trace?: boolean;
  accel: string;
  mem: string;
  machine: string;
  append?: string;
  qemu: string;
}

function imageOptions(f: ImageFlags, log: (m: string) => void): ImageOptions {
  if (f.modules && !f.kernel) {
    throw new UsageError('--modules needs --kernel', 'bring your kernel and its modules together: --kernel bzImage --modules lib/modules/<release>');
  }
  const compression = f.compression ?? DEFAULT_COMPRESSION;
  if (compression !== 'gzip' && compression !== 'none') {
    throw new UsageError(`--compression must be gzip or none, got "${compression}"`, 'none boots faster under TCG; gzip makes a smaller file');
  }
  return { kernel: f.kernel, initrd: f.initrd, modules: f.modules, force: f.force, compression, log };
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

function describe(img: BuiltImage): string {
  const m = img.manifest;
  return [
    `guest image ${img.hash.slice(0, 16)} (${img.cached ? 'cached' : `built in ${(m.buildMs / 1000).toFixed(1)} s`}, ${(img.elapsedMs / 1000).toFixed(1)} s in all)`,
    `  dir      ${img.dir}`,
    `  kernel   ${img.kernel} (${mib(img.kernelBytes)}, ${m.kernelRelease}, ${m.kernelSource})`,
    `  initrd   ${img.initrd} (${mib(img.initrdBytes)} ${m.compression}, ${mib(m.archiveBytes)} unpacked, ${m.files} entries)`,
    `  modules  ${m.modules.join(' ') || '(none: virtio built in)'}`,
    `  packages ${Object.entries(m.packages).map(([p, v]) => `${p} ${v}`).join(', ')}`,
  ].join('\n');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function positiveInt(v: string, flag: string, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`${flag} must be an integer from 1 to ${max}, got "${v}"`);
  return n;
}

async function bootCommand(f: BootFlags): Promise<void> {
  const count = positiveInt(f.count, '--count', 100);
  const memMiB = positiveInt(f.mem, '--mem', 65536);
  if (f.accel !== 'tcg' && f.accel !== 'kvm') throw new UsageError(`--accel must be tcg or kvm, got "${f.accel}"`);
  if (f.machine !== 'q35' && f.machine !== 'pc') throw new UsageError(`--machine must be q35 or pc, got "${f.machine}"`);
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const img = await ensureImage(imageOptions(f, log));
  process.stdout.write(`${describe(img)}\n`);
  const tuning: BootTuning = { ...DEFAULT_TUNING, machine: f.machine, extraAppend: f.append ? f.append.split(/\s+/).filter(Boolean) : DEFAULT_TUNING.extraAppend };
  const id = shortId();
  const times: number[] = [];
  const cpu: number[] = [];
  await withLedger(Ledger.create(`image-boot-${id}`), async (ledger) => {
    const workDir = path.join(os.tmpdir(), `vnb-${id}-boot`);
    ledger.add({ kind: 'tmpdir', path: workDir });
    fs.mkdirSync(workDir);
    for (let i = 0; i < count; i++) {
      const g = await launchGuest(
        {
          name: `vnb${id}boot${i}`,
          image: img,
          accel: f.accel as 'tcg' | 'kvm',
          memMiB,
          smp: 1,
          // A NIC on a QEMU hub with nothing else on it: virtio-net is probed and configured,
          // and no frame ever leaves QEMU.
          netArgs: ['-netdev', 'hubport,id=vnbnet0,hubid=0', '-device', 'virtio-net-pci,netdev=vnbnet0,mac=52:54:00:00:00:02'],
          passFds: [],
          sharedMemory: false,
          ip: '198.18.0.2',
          prefixLen: 24,
          workDir,
          qemuBinary: f.qemu,
        },
        ledger,
        { tuning },
      );
      times.push(g.bootToReadyS);
      cpu.push(g.bootCpuS);
      process.stdout.write(
        `boot ${i + 1}/${count}: ready in ${g.bootToReadyS.toFixed(2)} s ` +
          `(QEMU CPU ${g.bootCpuS.toFixed(2)} s, guest uptime at ready ${g.ready.uptimeS.toFixed(2)} s)\n`,
      );
      if (f.trace) {
        // Guest uptime at each bring-up step (harness/guest/rootfs/rc and agent.sh).
        const trace = await g.agent.readFile('/run/vnb/boot-trace');
        process.stdout.write(trace.replace(/^/gm, '    ').trimEnd() + '\n');
      }
      await g.shutdown();
    }
  });
  const s = [...times].sort((a, b) => a - b);
  const load = os.loadavg()[0];
  process.stdout.write(
    `boot-to-ready (${f.accel}, ${f.machine}, ${memMiB} MiB): median ${median(times).toFixed(2)} s, ` +
      `min ${s[0].toFixed(2)} s, max ${s[s.length - 1].toFixed(2)} s over ${times.length} boot(s); ` +
      `QEMU CPU to ready: median ${median(cpu).toFixed(2)} s; target <= 2.5 s median under TCG\n` +
      `host load average ${load.toFixed(1)} on ${os.cpus().length} CPUs` +
      (load > os.cpus().length * 0.5 ? ' (busy host: wall times are inflated, compare CPU times)' : '') +
      '\n',
  );
}

export function register(program: Command): void {
  const image = program.command('image').description('build and check the guest image (kernel + initramfs)');
  const imageFlags = (c: Command): Command =>
    c
      .option('--kernel <path>', 'a bzImage under test instead of Debian\'s cloud kernel')
      .option('--modules <dir>', 'its lib/modules/<release> directory (omit when virtio is built in)')
      .option('--initrd <path>', 'an extra initramfs loaded before ours (ours runs /init)')
      .option('--compression <kind>', `initramfs compression: none or gzip (default ${DEFAULT_COMPRESSION})`);
  imageFlags(image.command('build'))
    .description('build the guest image from Debian packages, or reuse the cached one with the same inputs')
    .option('--force', 'rebuild even when an image with the same inputs exists')
    .option('--json', 'print the image manifest as JSON')
    .action(async (f: ImageFlags) => {
      const img = await ensureImage(imageOptions(f, (m) => process.stderr.write(`${m}\n`)));
      const others = otherImages(img.dir);
      if (others.length && !f.json) {
        const mb = mib(others.reduce((n, o) => n + o.bytes, 0));
        process.stderr.write(`${others.length} other image(s) in the cache (${mb}): vnetbench image prune removes them\n`);
      }
      process.stdout.write(f.json ? `${JSON.stringify({ ...img.manifest, dir: img.dir, cached: img.cached }, null, 2)}\n` : `${describe(img)}\n`);
    });
  imageFlags(image.command('prune'))
    .description('remove cached guest images other than the one the given inputs produce')
    .option('--dry-run', 'only list them')
    .action(async (f: ImageFlags & { dryRun?: boolean }) => {
      const img = await ensureImage(imageOptions(f, (m) => process.stderr.write(`${m}\n`)));
      const others = otherImages(img.dir);
      for (const o of others) {
        process.stdout.write(`${f.dryRun ? 'would remove' : 'removing'} ${o.dir} (${mib(o.bytes)})\n`);
        if (!f.dryRun) fs.rmSync(o.dir, { recursive: true, force: true });
      }
      const total = others.reduce((n, o) => n + o.bytes, 0);
      process.stdout.write(`${f.dryRun ? 'would free' : 'freed'} ${mib(total)}; kept ${img.dir}\n`);
    });
  imageFlags(image.command('boot'))
    .description('boot the guest image N times (TCG, no host network) and print boot-to-ready times')
    .option('--count <n>', 'number of boots', '5')
    .option('--accel <accel>', 'tcg or kvm (kvm only where doctor says guests boot)', 'tcg')
    .option('--mem <MiB>', 'guest memory', '512')
    .option('--machine <type>', 'q35 or pc', DEFAULT_TUNING.machine)
    .option('--append <args>', 'extra guest kernel parameters')
    .option('--trace', 'print the guest uptime at each bring-up step of every boot')
    .option('--qemu <binary>', 'QEMU binary', 'qemu-system-x86_64')
    .action(bootCommand);
}
