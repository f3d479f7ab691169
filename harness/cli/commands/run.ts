// `vnetbench run`: flags and/or a config file -> validated RunConfig -> runBenchmarks -> summary.
import type { Command } from 'commander';
import { loadConfig, validateConfig } from '../../config/load.ts';
import { UsageError } from '../../core/errors.ts';
import { readRun } from '../../results/rundir.ts';
import { runBenchmarks } from '../../run/run.ts';
import { createProgress } from '../../run/progress.ts';
import { runSummary } from '../../run/summary.ts';

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
/** Numbers stay strings when they do not parse, so the schema reports them with their key. */
const numOrRaw = (v: string): number | string => (v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);

interface RunFlags {
  config?: string;
  backends?: string;
  workloads?: string;
  sizes?: string;
  duration?: string;
  iterations?: string;
  warmup?: string;
  engine?: string;
  streams?: string;
  queues?: string;
  offloads?: string;
  confidence?: string;
  macvtapMode?: string;
  nic?: string;
  peerNic?: string;
  remotePeer?: string;
  kernel?: string;
  initrd?: string;
  modules?: string;
  accel?: string;
  mem?: string;
  out?: string;
  resume?: boolean;
}

/** Flags -> the config object shape (validation is the schema's job, not this function's). */
export function flagsToConfig(f: RunFlags): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  if (f.backends) c.backends = list(f.backends);
  if (f.workloads) c.workloads = list(f.workloads).map((w) => w.toUpperCase());
  if (f.sizes) c.sizes = list(f.sizes).map(numOrRaw);
  for (const k of ['duration', 'iterations', 'warmup', 'streams', 'queues'] as const) if (f[k] !== undefined) c[k] = numOrRaw(f[k]!);
  if (f.engine) c.engine = f.engine;
  if (f.offloads) c.offloads = list(f.offloads);
  if (f.macvtapMode) c.macvtapMode = f.macvtapMode;
  if (f.confidence) {
    // netperf's -I LEVEL,WIDTH: WIDTH is the total interval width in percent.
    const [level, width] = list(f.confidence).map(numOrRaw);
    c.confidence = {
      level: typeof level === 'number' ? level / 100 : level,
      ...(width !== undefined ? { widthPct: typeof width === 'number' ? width / 2 : width } : {}),
    };
  }
  if (f.nic) {
    c.topology = {
      kind: 'nic',
      nic: f.nic,
      ...(f.peerNic ? { peerNic: f.peerNic } : {}),
      ...(f.remotePeer ? { remotePeer: f.remotePeer } : {}),
    };
  }
  const guest: Record<string, unknown> = {};
  if (f.kernel) guest.kernel = f.kernel;
  if (f.initrd) guest.initrd = f.initrd;
  if (f.modules) guest.modules = f.modules;
  if (f.mem) guest.memMiB = numOrRaw(f.mem);
  if (Object.keys(guest).length) c.guest = guest;
  if (f.accel) c.qemu = { accel: f.accel };
  if (f.out) c.out = f.out;
  return c;
}

/** --resume measures what the interrupted run planned: its recorded configuration, not new flags. */
function resumeConfig(flags: RunFlags): ReturnType<typeof loadConfig> {
  if (!flags.out) throw new UsageError('--resume needs --out DIR naming the interrupted run directory');
  const { resume: _r, out: _o, ...rest } = flags;
  const extra = Object.entries(rest).filter(([, v]) => v !== undefined).map(([k]) => `--${k}`);
  if (extra.length) {
    throw new UsageError(`--resume takes its configuration from ${flags.out}/manifest.json; drop ${extra.join(', ')}`);
  }
  return validateConfig(readRun(flags.out).manifest.config, `${flags.out}/manifest.json`);
}

export function register(program: Command): void {
  program
    .command('run')
    .description('boot guests on each backend and measure the workload matrix')
    .option('--config <file>', 'JSON run configuration (flags override its keys)')
    .option('--backends <list>', 'copy,macvtap,vhost,macvtap-vhost,vhost-raw,aio-tap,aio-macvtap,vhost-user')
    .option('--workloads <list>', 'TCP_STREAM,TCP_MAERTS,TCP_RR,TCP_CRR,UDP_STREAM,UDP_RR')
    .option('--sizes <list>', 'message sizes in bytes, e.g. 64,1024,16384')
    .option('--duration <s>', 'seconds per iteration')
    .option('--iterations <n>', 'iterations per cell (the minimum with --confidence)')
    .option('--warmup <s>', 'seconds of discarded warm-up per cell')
    .option('--confidence <level,width>', 'iterate until the CI is within width % at level % (netperf -I), e.g. 99,5')
    .option('--engine <name>', 'netperf (default), iperf3 or sockperf')
    .option('--streams <n>', 'parallel streams per cell')
    .option('--queues <n>', 'virtio-net queue pairs (multiqueue)')
    .option('--offloads <list>', 'on, off or on,off (TSO/GSO/GRO in the guest and on the host side)')
    .option('--macvtap-mode <mode>', 'bridge (default), vepa or passthru')
    .option('--nic <ifname>', 'real NIC for the guest side (touched only when named)')
    .option('--peer-nic <ifname>', 'second port cabled back to back, moved into the peer namespace')
    .option('--remote-peer <addr>', 'address of a remote peer running the workload servers')
    .option('--kernel <path>', 'guest kernel under test (bzImage)')
    .option('--initrd <path>', 'extra initramfs placed before ours')
    .option('--modules <dir>', 'lib/modules/<release> of --kernel')
    .option('--accel <mode>', 'auto (default), kvm or tcg')
    .option('--mem <MiB>', 'guest memory')
    .option('--out <dir>', 'run directory (default runs/<run id>)')
    .option('--resume', 'continue an interrupted run in --out, skipping finished cells')
    .action(async (flags: RunFlags) => {
      const config = flags.resume ? resumeConfig(flags) : loadConfig(flags.config, flagsToConfig(flags));
      const progress = createProgress();
      const out = await runBenchmarks({ config, out: flags.out, resume: flags.resume, progress });
      const run = readRun(out.dir);
      process.stdout.write(`${runSummary(run)}\n`);
      const boots = run.records.flatMap((r) => (r.type === 'boot' ? [r.bootToReadyS] : []));
      const harnessPcts = run.records.flatMap((r) => (r.type === 'iteration' && r.metrics.harness_cpu_pct !== undefined ? [r.metrics.harness_cpu_pct] : []));
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      process.stdout.write(
        [
          `run directory: ${out.dir}`,
          `wall time: ${out.wallS.toFixed(1)} s; harness CPU: ${out.harnessCpuS.toFixed(1)} s total`,
          boots.length ? `guest boot-to-ready: median ${median(boots).toFixed(2)} s over ${boots.length} boot(s)` : '',
          harnessPcts.length
            ? `harness CPU during measurement windows: mean ${(harnessPcts.reduce((a, b) => a + b, 0) / harnessPcts.length).toFixed(2)} % of one core, max ${Math.max(...harnessPcts).toFixed(2)} %`
            : '',
        ]
          .filter(Boolean)
          .join('\n') + '\n',
      );
      if (out.errors > 0) process.exitCode = 1;
    });
}
