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
import type { RunningGuest } from '../guest/qemu.ts';
import type { GuestImage } from '../guest/types.ts';
import { methodOptions } from '../method/options.ts';
import { runMethod, type MeasureRequest } from '../method/scheduler.ts';
import { Sampler } from '../metrics/sampler.ts';
import type { RunWriter } from '../results/rundir.ts';
import { errorHeadline } from '../results/display.ts';
import { cellId, type CellKey } from '../results/types.ts';
import type { Metrics } from '../results/metrics.ts';
import { topologyProvider } from '../topology/index.ts';
import type { HostTopology } from '../topology/types.ts';
import { hostTools } from '../workloads/binaries.ts';
import { measureIteration } from '../workloads/measure.ts';
import { allOffloads, setOffloadsArgv } from '../workloads/offloads.ts';
import { engineFor } from '../workloads/registry.ts';
import { ClientStalled, expectedClientS, runClients, serverAddress, startServers, type ServerSet } from '../workloads/runner.ts';
import type { WorkloadEngine, WorkloadSpec } from '../workloads/types.ts';
import { TimeoutError } from '../core/errors.ts';
import { exec } from '../core/exec.ts';
import type { BackendPlan } from './plan.ts';
import type { Progress } from './progress.ts';
import { GuestSession } from './session.ts';
import { awaitedOf, collectStallEvidence, StallWatch, type StallEvidence } from './stall.ts';

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
  let left = cells.length; // cells not yet ticked, so an error ticks the rest
  try {
    await withLedger(ledger, async () => {
      const topo = await topologyProvider(ctx.config.topology).create(ledger);
      const workDir = path.join(writer.dir, 'logs', plan.backend);
      fs.mkdirSync(workDir, { recursive: true });
      const session = await GuestSession.start({
        config: ctx.config,
        backend,
        topology: topo,
        ledger,
        accel: ctx.accel,
        image: ctx.image,
        workDir,
        log: (m) => progress.log(m),
      });
      try {
        const bs = new BackendState(ctx, plan.backend, session);
        bs.booted();
        for (const [i, cell] of cells.entries()) {
          progress.cell(cellId(cell));
          const goOn = await bs.runWithRetry(cell, (attempt) => runCell(ctx, cell, engine, bs, topo, attempt));
          progress.tick();
          left--;
          if (!goOn) {
            bs.abandon(cells.slice(i + 1));
            for (; left > 0; left--) progress.tick();
            break;
          }
        }
      } finally {
        await session.close();
      }
    });
  } catch (err) {
    // Failures caused by an interrupt's teardown are not findings: the run is marked interrupted.
    if (isTearingDown()) return;
    const message = (err as Error).message;
    writer.record({ type: 'error', backend: plan.backend, message });
    progress.log(`error on ${plan.backend}: ${errorHeadline(message)}`);
    for (; left > 0; left--) progress.tick();
  }
}


/**
 * One backend's guest across its cells: the stall watch, the offload state applied to the guest,
 * and the stall policy: a stalled cell is recorded with its evidence, the guest rebooted and the
 * cell tried once more; a second stall on this backend abandons it (the rest of its cells are
 * recorded as errors with that reason instead of timing out one by one).
 */
class BackendState {
  static readonly MAX_STALLS = 2;
  stalls = 0;
  watch: StallWatch;
  offloads: 'on' | 'off' | undefined;
  private abandonReason = '';

  constructor(
    private readonly ctx: BackendRunContext,
    private readonly backend: BackendName,
    readonly session: GuestSession,
  ) {
    this.watch = new StallWatch(session.guest.bootToReadyS);
  }

  /** Record a (re)boot; the next cell re-applies offloads on the fresh guest. */
  booted(): void {
    const { writer, progress } = this.ctx;
    const guest = this.session.guest;
    // The manifest first: whoever sees the boot record can then read the guest's command line.
    writer.manifest.commandLines[this.backend] = guest.commandLine;
    writer.manifest.versions.qemu ??= guest.qemuVersion;
    writer.manifest.versions.guestKernel ??= this.ctx.image.kernelRelease;
    writer.saveManifest();
    writer.record({ type: 'boot', backend: this.backend, bootToReadyS: guest.bootToReadyS, accel: this.ctx.accel });
    progress.log(`${this.backend}: guest ready in ${guest.bootToReadyS.toFixed(2)} s${this.session.boots > 1 ? ` (boot ${this.session.boots})` : ''}`);
    this.watch = new StallWatch(guest.bootToReadyS);
    this.offloads = undefined;
  }

  /** Run a cell; on a stall reboot and retry once. False: the backend is to be abandoned. */
  async runWithRetry(cell: CellKey, attemptCell: (attempt: number) => Promise<void>): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await attemptCell(attempt);
        return true;
      } catch (e) {
        if (!(e instanceof CellStalled)) throw e;
        this.stalls++;
        const give = this.stalls >= BackendState.MAX_STALLS || attempt >= 2;
        this.ctx.writer.record({
          type: 'error',
          backend: this.backend,
          workload: cell.workload,
          cell,
          message: e.message,
          attempt,
          next: give ? 'abandoned' : 'retried',
          stall: e.evidence as unknown as Record<string, unknown>,
        });
        this.ctx.progress.log(`stall in ${cellId(cell)} (try ${attempt}): ${errorHeadline(e.message)}`);
        if (give) {
          this.abandonReason = `guest stalled ${this.stalls} times on ${this.backend}; last: ${errorHeadline(e.message)}`;
          return false;
        }
        this.ctx.progress.log(`  rebooting the ${this.backend} guest and retrying the cell`);
        await this.session.reboot();
        this.booted();
      }
    }
  }

  /** The cells after an abandoning stall: each an error naming why it was not measured. */
  abandon(rest: CellKey[]): void {
    for (const cell of rest) {
      this.ctx.writer.record({
        type: 'error',
        backend: this.backend,
        workload: cell.workload,
        cell,
        message: `not measured: backend abandoned (${this.abandonReason})`,
        next: 'abandoned',
      });
    }
    if (rest.length) this.ctx.progress.log(`abandoned ${this.backend}: ${rest.length} cell(s) not measured (${this.abandonReason})`);
  }
}

/** A cell whose client stalled, with the evidence gathered before the guest was rebooted. */
class CellStalled extends Error {
  override readonly name = 'CellStalled';
  constructor(message: string, readonly evidence: StallEvidence) {
    super(message);
  }
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

async function runCell(ctx: BackendRunContext, cell: CellKey, engine: WorkloadEngine, bs: BackendState, topo: HostTopology, attempt: number): Promise<void> {
  const { writer, config } = ctx;
  const { session, watch } = bs;
  const guest = session.guest;
  const workload = cell.workload as WorkloadSpec['workload'];
  const base = { workload, size: cell.size, streams: cell.streams, ...(cell.direction ? { direction: cell.direction } : {}) };
  const why = engine.unsupported(base);
  if (why) {
    writer.record({ type: 'skip', backend: cell.backend, workload: cell.workload, cell, reason: why });
    return;
  }
  const serverIp = serverAddress(engine, base, { guestIp: topo.guestIp, peerIp: topo.peerIp });
  const spec: WorkloadSpec = { ...base, durationS: config.duration, serverIp };
  const sides = session.sides;
  let servers: ServerSet | undefined;
  try {
    if (cell.offloads !== bs.offloads) {
      await applyOffloads(guest, topo, cell.offloads, session.instance.net.sharedMemory, ctx.progress);
      bs.offloads = cell.offloads;
    }
    servers = await startServers(engine, spec, sides);
    const sampler = new Sampler({
      qemuPid: guest.pid,
      backendPids: session.backendPids(),
      peerPids: servers.hostPids,
      guest: { readFile: (p) => guest.agent.readFile(p), nic: guest.nic },
    });
    const warnings = new Set<string>();
    const measureOnce = async (req: MeasureRequest): Promise<Metrics> => {
      if (req.warmup) {
        // Warm-up traffic only: nothing sampled, nothing recorded.
        const warm = { ...spec, durationS: Math.max(1, Math.round(req.durationS)) };
        const expected = expectedClientS(engine, warm);
        const r = await runClients(engine, warm, sides, { timeoutMs: watch.timeoutMs(expected) });
        watch.observe(expected, r.elapsedS);
        return r.metrics;
      }
      const startedAt = new Date().toISOString();
      const expected = expectedClientS(engine, spec);
      const r = await measureIteration(engine, spec, sides, sampler, { timeoutMs: watch.timeoutMs(expected) });
      watch.observe(expected, r.elapsedS);
      for (const p of r.problems) warnings.add(p);
      writer.record({
        type: 'iteration',
        cell,
        iteration: req.iteration,
        ...(attempt > 1 ? { attempt } : {}),
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
      warnings: [...outcome.warnings, ...warnings, ...(attempt > 1 ? [`measured on try ${attempt}, after the guest stalled and was rebooted`] : [])],
    });
  } catch (err) {
    if (isTearingDown()) throw err;
    // A client that overran, or anything in the cell that got no answer in time: the guest (or
    // its network) went silent. Keep what everything showed, then let the caller reboot.
    if (err instanceof ClientStalled || err instanceof TimeoutError) {
      const evidence = await collectStallEvidence(awaitedOf(err), guest, topo, watch.describe());
      const message = err instanceof ClientStalled ? err.message : `stalled: ${err.message}`;
      throw new CellStalled(`${message}; ${evidence.verdict}`, evidence);
    }
    writer.record({ type: 'error', backend: cell.backend, workload: cell.workload, cell, message: (err as Error).message, attempt });
    ctx.progress.log(`error in ${cellId(cell)}: ${errorHeadline((err as Error).message)}`);
  } finally {
    await servers?.stop().catch(() => {});
  }
}

export type { BackendName };
