// setup -> measure -> record, per backend: one topology, one backend instance and one guest boot
// serve all of a backend's cells. Every result is appended to the run directory as soon as it
// exists; a backend that fails is recorded as an error and the run goes on to the next one.
import fs from 'node:fs';
import path from 'node:path';
import type { BackendName, RunConfig } from '../config/schema.ts';
import { Ledger } from '../core/ledger.ts';
import { isTearingDown, withLedger } from '../core/lifecycle.ts';
import { shortId } from '../core/names.ts';
import { getBackend } from '../backends/registry.ts';
import type { HostCapabilities } from '../doctor/capabilities.ts';
import { launchGuest, type RunningGuest } from '../guest/qemu.ts';
import type { GuestImage } from '../guest/types.ts';
import { methodOptions } from '../method/options.ts';
import { runMethod, type MeasureRequest } from '../method/scheduler.ts';
import { Sampler } from '../metrics/sampler.ts';
import type { RunWriter } from '../results/rundir.ts';
import { cellId, type CellKey } from '../results/types.ts';
import type { Metrics } from '../results/metrics.ts';
import { topologyProvider } from '../topology/index.ts';
import type { HostTopology } from '../topology/types.ts';
import { hostTools } from '../workloads/binaries.ts';
import { agentSide } from '../workloads/guest-side.ts';
import { hostSide } from '../workloads/host-side.ts';
import { measureIteration } from '../workloads/measure.ts';
import { allOffloads, setOffloadsArgv } from '../workloads/offloads.ts';
import { engineFor } from '../workloads/registry.ts';
import { runClients, serverAddress, startServers, type Sides } from '../workloads/runner.ts';
import type { WorkloadEngine, WorkloadSpec } from '../workloads/types.ts';
import { exec } from '../core/exec.ts';
import type { BackendPlan } from './plan.ts';
import type { Progress } from './progress.ts';

export interface BackendRunContext {
  config: RunConfig;
  caps: HostCapabilities;
  accel: 'kvm' | 'tcg';
  image: GuestImage;
  writer: RunWriter;
  progress: Progress;
}

/** Run every remaining cell of one backend; records skip/error/boot/iteration/cell as it goes. */
export async function runBackend(ctx: BackendRunContext, plan: BackendPlan, cells: CellKey[]): Promise<void> {
  const { writer, progress } = ctx;
  const backend = getBackend(plan.backend);
  const avail = backend.availability(ctx.caps);
  if (!avail.runnable) {
    writer.record({ type: 'skip', backend: plan.backend, reason: avail.reason });
    progress.log(`skipped ${plan.backend}: ${avail.reason}${avail.fix ? ` (fix: ${avail.fix})` : ''}`);
    for (let i = 0; i < cells.length; i++) progress.tick();
    return;
  }
  const engine = engineFor(ctx.config.engine, hostTools);
  const ledger = Ledger.create(shortId());
  try {
    await withLedger(ledger, async () => {
      const topo = await topologyProvider(ctx.config.topology).create(ledger);
      const workDir = path.join(writer.dir, 'logs', plan.backend);
      fs.mkdirSync(workDir, { recursive: true });
      const instance = await backend.setup({ config: ctx.config, topology: topo, ledger, workDir, accel: ctx.accel });
      let guest: RunningGuest | undefined;
      try {
        const childFds = instance.net.passFds.map((_, i) => 3 + i);
        guest = await launchGuest(
          {
            name: `vnb-${topo.id}-${plan.backend}`,
            image: ctx.image,
            accel: ctx.accel,
            memMiB: ctx.config.guest.memMiB,
            smp: ctx.config.guest.smp,
            netns: topo.guestNs,
            netArgs: instance.net.args(childFds),
            passFds: instance.net.passFds,
            sharedMemory: instance.net.sharedMemory,
            ip: topo.guestIp,
            prefixLen: topo.prefixLen,
            workDir,
            qemuBinary: ctx.config.qemu.binary,
          },
          ledger,
          { log: (m) => progress.log(`  ${m}`) },
        );
        writer.record({ type: 'boot', backend: plan.backend, bootToReadyS: guest.bootToReadyS, accel: ctx.accel });
        writer.manifest.commandLines[plan.backend] = guest.commandLine;
        writer.manifest.versions.qemu ??= guest.qemuVersion;
        writer.manifest.versions.guestKernel ??= ctx.image.kernelRelease;
        writer.saveManifest();
        progress.log(`${plan.backend}: guest ready in ${guest.bootToReadyS.toFixed(2)} s`);
        if (ctx.config.queues > 1) await enableGuestQueues(guest, ctx.config.queues, progress);
        const sides: Sides = { guest: agentSide(guest.agent), peer: hostSide('peer', (a) => topo.inPeerNs(a), ledger) };
        let offloads: string | undefined;
        for (const cell of cells) {
          if (cell.offloads !== offloads) {
            await applyOffloads(guest, topo, cell.offloads, instance.net.sharedMemory, progress);
            offloads = cell.offloads;
          }
          progress.cell(cellId(cell));
          await runCell(ctx, cell, engine, guest, topo, sides, instance.processes().map((p) => p.pid));
          progress.tick();
        }
      } finally {
        await guest?.shutdown();
        await instance.close();
      }
    });
  } catch (err) {
    // Failures caused by an interrupt's teardown are not findings: the run is marked interrupted.
    if (isTearingDown()) return;
    const message = (err as Error).message;
    writer.record({ type: 'error', backend: plan.backend, message });
    progress.log(`error on ${plan.backend}: ${message}`);
  }
}

/** Multiqueue: the guest driver starts with one queue pair; `ethtool -L` enables the rest. */
async function enableGuestQueues(guest: RunningGuest, queues: number, progress: Progress): Promise<void> {
  const r = await guest.agent.exec(['ethtool', '-L', guest.nic, 'combined', String(queues)], { timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`enabling ${queues} queue pairs in the guest failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  progress.log(`  guest ${guest.nic}: ${queues} queue pairs enabled`);
}

/**
 * Offloads as a matrix dimension: TSO/GSO/GRO on the guest NIC, and on the host side of the
 * wire when the run created it (embedded topology). A user's real NIC keeps its settings.
 */
async function applyOffloads(
  guest: RunningGuest,
  topo: HostTopology,
  state: 'on' | 'off',
  hostOffloadsFixedOff: boolean,
  progress: Progress,
): Promise<void> {
  const settings = allOffloads(state);
  const r = await guest.agent.exec(setOffloadsArgv(guest.nic, settings), { timeoutMs: 15_000 });
  // ethtool exits non-zero when a feature is fixed; the state read back is what counts.
  if (r.code !== 0) progress.log(`  guest ethtool -K: ${r.stderr.trim() || `exit ${r.code}`}`);
  // The AF_PACKET port of a vhost-user switch cannot take GSO frames: its wire stays offload-free.
  if (topo.kind === 'embedded' && !(state === 'on' && hostOffloadsFixedOff)) {
    await exec(topo.inGuestNs(setOffloadsArgv(topo.wire, settings)), { nothrow: true });
    if (topo.peerIf) await exec(topo.inPeerNs(setOffloadsArgv(topo.peerIf, settings)), { nothrow: true });
  }
}

async function runCell(
  ctx: BackendRunContext,
  cell: CellKey,
  engine: WorkloadEngine,
  guest: RunningGuest,
  topo: HostTopology,
  sides: Sides,
  backendPids: number[],
): Promise<void> {
  const { writer, config } = ctx;
  const workload = cell.workload as WorkloadSpec['workload'];
  const base = { workload, size: cell.size, streams: cell.streams, ...(cell.direction ? { direction: cell.direction } : {}) };
  const why = engine.unsupported(base);
  if (why) {
    writer.record({ type: 'skip', backend: cell.backend, workload: cell.workload, cell, reason: why });
    return;
  }
  const serverIp = serverAddress(engine, base, { guestIp: topo.guestIp, peerIp: topo.peerIp });
  const spec: WorkloadSpec = { ...base, durationS: config.duration, serverIp };
  const servers = await startServers(engine, spec, sides);
  try {
    const sampler = new Sampler({
      qemuPid: guest.pid,
      backendPids,
      peerPids: servers.hostPids,
      guest: { readFile: (p) => guest.agent.readFile(p), nic: guest.nic },
    });
    const warnings = new Set<string>();
    const measureOnce = async (req: MeasureRequest): Promise<Metrics> => {
      if (req.warmup) {
        // Warm-up traffic only: nothing sampled, nothing recorded.
        return (await runClients(engine, { ...spec, durationS: Math.max(1, Math.round(req.durationS)) }, sides)).metrics;
      }
      const startedAt = new Date().toISOString();
      const r = await measureIteration(engine, spec, sides, sampler);
      for (const p of r.problems) warnings.add(p);
      writer.record({
        type: 'iteration',
        cell,
        iteration: req.iteration,
        startedAt,
        durationS: r.windowS,
        metrics: r.metrics,
        raw: r.raw.join('\n---\n').slice(0, 4000),
      });
      return r.metrics;
    };
    const outcome = await runMethod(measureOnce, methodOptions(config, workload));
    writer.record({
      type: 'cell',
      cell,
      summary: outcome.summary,
      ...(outcome.confidence
        ? {
            confidence: {
              level: outcome.confidence.level,
              widthPct: outcome.confidence.widthPct,
              reached: outcome.confidence.reached,
              iterations: outcome.confidence.iterations,
            },
          }
        : {}),
      warnings: [...outcome.warnings, ...warnings],
    });
  } catch (err) {
    if (isTearingDown()) throw err;
    writer.record({ type: 'error', backend: cell.backend, workload: cell.workload, cell, message: (err as Error).message });
    ctx.progress.log(`error in ${cellId(cell)}: ${(err as Error).message.split('\n')[0]}`);
  } finally {
    await servers.stop().catch(() => {});
  }
}

export type { BackendName };
