// `vnetbench run` as a pipeline: plan -> probe -> (per backend) setup, measure, record -> summary.
// The run directory is created before anything is measured and every record is appended as it
// is produced, so an interrupted run keeps everything up to the cell in flight (`--resume`).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { RunConfig } from '../config/schema.ts';
import { CapabilityError } from '../core/errors.ts';
import { onInterrupt } from '../core/lifecycle.ts';
import { probeHost } from '../doctor/probe.ts';
import { backendTable } from '../doctor/backends.ts';
import { ensureImage } from '../guest/image.ts';
import { newRunId, readRun, RunWriter } from '../results/rundir.ts';
import { classifyCells } from '../results/outcomes.ts';
import { cellId } from '../results/types.ts';
import { runBackend } from './execute.ts';
import { planRun, remainingCells } from './plan.ts';
import type { Progress } from './progress.ts';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

export interface RunRequest {
  config: RunConfig;
  /** Run directory; default runs/<run id>. */
  out?: string;
  resume?: boolean;
  progress: Progress;
}

export interface RunOutcome {
  dir: string;
  wallS: number;
  harnessCpuS: number;
  /** Errored cells plus errors no cell accounts for, over the whole run directory (exit 1 when > 0). */
  errors: number;
}

export async function runBenchmarks(req: RunRequest): Promise<RunOutcome> {
  const started = Date.now();
  const cpu0 = process.cpuUsage();
  const { config, progress } = req;
  const plan = planRun(config);

  const caps = await probeHost({ log: (m) => progress.log(`doctor: ${m}`) });
  const accel = chooseAccel(config, caps.kvm.ok, caps.kvm.evidence);
  const image = await ensureImage({
    kernel: config.guest.kernel,
    initrd: config.guest.initrd,
    modules: config.guest.modules,
    log: (m) => progress.log(`image: ${m}`),
  });

  const dir = req.out ?? config.out ?? path.join('runs', newRunId());
  let writer: RunWriter;
  let done = new Set<string>();
  if (req.resume && fs.existsSync(path.join(dir, 'manifest.json'))) {
    const prior = readRun(dir);
    done = new Set(prior.records.flatMap((r) => (r.type === 'cell' ? [cellId(r.cell)] : [])));
    writer = RunWriter.resume(dir);
    progress.log(`resuming ${dir}: ${done.size} cell(s) already done`);
  } else {
    const wanted = new Set<string>(config.backends);
    writer = RunWriter.create(dir, {
      runId: path.basename(dir),
      kind: 'benchmark',
      tool: { version: pkg.version, node: process.version },
      versions: versionsOf(caps),
      accel,
      config,
      capabilities: backendTable(caps)
        .filter((b) => wanted.has(b.name))
        .map((b) => ({ name: b.name, runnable: b.runnable, reason: b.reason, ...(b.fix ? { fix: b.fix } : {}) })),
      commandLines: {},
    });
  }
  progress.log(`run directory: ${dir} (accel ${accel}, guest kernel ${image.kernelRelease})`);

  let status: 'complete' | 'failed' = 'complete';
  let errors = 0;
  progress.start(plan.totalCells - done.size);
  const unhook = onInterrupt(() => writer.finish('interrupted'));
  try {
    for (const b of plan.backends) {
      const cells = remainingCells(b, done);
      if (cells.length) await runBackend({ config, caps, accel, image, writer, progress }, b, cells);
    }
  } catch (e) {
    status = 'failed';
    throw e;
  } finally {
    unhook();
    progress.stop();
    // A run with errored cells (this invocation's or a resumed run's) is complete-with-errors;
    // a cell measured after a stall and a retry is measured, its stall a note.
    const c = classifyCells(readRun(dir).records, plan.backends.flatMap((b) => b.cells));
    errors = c.counts.errored + c.unattributed.length;
    writer.finish(status === 'complete' && errors > 0 ? 'complete-with-errors' : status);
  }
  const cpu = process.cpuUsage(cpu0);
  return { dir, wallS: (Date.now() - started) / 1000, harnessCpuS: (cpu.user + cpu.system) / 1e6, errors };
}

function chooseAccel(config: RunConfig, kvmOk: boolean, evidence: string): 'kvm' | 'tcg' {
  if (config.qemu.accel === 'tcg') return 'tcg';
  if (config.qemu.accel === 'kvm' && !kvmOk) {
    throw new CapabilityError(`--accel kvm was asked for but KVM cannot boot a guest here: ${evidence}`, 'use --accel auto or tcg');
  }
  return kvmOk ? 'kvm' : 'tcg';
}

function versionsOf(caps: Awaited<ReturnType<typeof probeHost>>): Record<string, string> {
  // The host kernel is in manifest.host; this holds the tools' versions.
  const v: Record<string, string> = {};
  if (caps.qemu.version) v.qemu = caps.qemu.version;
  for (const [name, t] of Object.entries(caps.tools)) if (t.version) v[name] = t.version;
  return v;
}
