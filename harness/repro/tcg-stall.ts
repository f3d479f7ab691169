// `vnetbench repro tcg-stall`: shows the lost virtio notification of QEMU < 8.0 under TCG with one
// vCPU (guest barriers elided, see accelArgs in guest/cmdline.ts), and that the harness's
// workaround removes it. Rounds alternate the two settings on one topology; each round boots a
// fresh guest and runs short netperf clients until one stalls or the round's runs are done. A
// stall is diagnosed from the virtio rings (which side dropped the notification) and ends the round.
import fs from 'node:fs';
import path from 'node:path';
import type { BackendName } from '../config/schema.ts';
import { CapabilityError } from '../core/errors.ts';
import { getBackend } from '../backends/registry.ts';
import { probeHost } from '../doctor/probe.ts';
import { DEFAULT_TUNING } from '../guest/cmdline.ts';
import { awaitedOf, collectStallEvidence, StallWatch } from '../run/stall.ts';
import { ClientStalled, expectedClientS } from '../workloads/runner.ts';
import type { WorkloadSpec } from '../workloads/types.ts';
import { labSpec, netperfOnce, qemuSmp, withLab, type Lab } from './lab.ts';

export type BarrierSetting = 'off' | 'on';

export interface ReproOptions {
  rounds: number;
  runsPerRound: number;
  durationS: number;
  settings: BarrierSetting[];
  backend: BackendName;
  workloads: WorkloadSpec['workload'][];
  size: number;
  /** JSONL file: one record per round, written as each round ends. */
  out?: string;
  log: (line: string) => void;
}

export interface RoundRecord {
  round: number;
  barriers: BarrierSetting;
  qemuSmp: string;
  runs: number;
  stalled: boolean;
  trafficS: number;
  bootS: number;
  verdict?: string;
  stall?: unknown;
}

export interface SettingTotals {
  barriers: BarrierSetting;
  rounds: number;
  stalledRounds: number;
  runs: number;
  trafficS: number;
  verdicts: Record<string, number>;
}

export async function reproTcgStall(o: ReproOptions): Promise<SettingTotals[]> {
  const avail = getBackend(o.backend).availability(await probeHost({}));
  if (!avail.runnable) throw new CapabilityError(`${o.backend} cannot run here: ${avail.reason}`, avail.fix ?? 'pick another --backend');
  const records: RoundRecord[] = [];
  if (o.out) fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });

  await withLab({ backend: o.backend, durationS: o.durationS, size: o.size, name: 'repro', log: o.log }, async (lab) => {
    for (let round = 1; round <= o.rounds; round++) {
      // Alternate which setting goes first, so a streak of bad luck hits both alike.
      const order = round % 2 === 1 ? o.settings : [...o.settings].reverse();
      for (const barriers of order) {
        const rec = await oneRound(o, lab, round, barriers);
        records.push(rec);
        if (o.out) fs.appendFileSync(o.out, `${JSON.stringify(rec)}\n`);
        o.log(
          `round ${round} barriers=${barriers} (-smp ${rec.qemuSmp}): ${rec.stalled ? `STALLED after ${rec.runs} run(s): ${rec.verdict}` : `${rec.runs} run(s), no stall`}`,
        );
      }
    }
  });
  return totals(records, o.settings);
}

async function oneRound(o: ReproOptions, lab: Lab, round: number, barriers: BarrierSetting): Promise<RoundRecord> {
  const session = await lab.boot({ ...DEFAULT_TUNING, tcgBarriers: barriers === 'on' });
  const rec: RoundRecord = {
    round,
    barriers,
    qemuSmp: qemuSmp(session.guest.commandLine),
    runs: 0,
    stalled: false,
    trafficS: 0,
    bootS: session.guest.bootToReadyS,
  };
  const watch = new StallWatch(session.guest.bootToReadyS);
  try {
    for (let k = 0; k < o.runsPerRound; k++) {
      const workload = o.workloads[k % o.workloads.length]!;
      // UDP_STREAM from the guest: the most TX kicks (and kick decisions) per second.
      const direction = workload === 'UDP_STREAM' ? { direction: 'guest-to-peer' as const } : {};
      const spec = labSpec(lab, { workload, size: o.size, streams: 1, durationS: o.durationS, ...direction });
      const expected = expectedClientS(lab.engine, spec);
      try {
        const r = await netperfOnce(lab, session, spec, watch.timeoutMs(expected));
        watch.observe(expected, r.elapsedS);
        rec.runs++;
        rec.trafficS += spec.durationS;
      } catch (e) {
        if (!(e instanceof ClientStalled)) throw e;
        const ev = await collectStallEvidence(awaitedOf(e), session.guest, lab.topo, watch.describe());
        rec.stalled = true;
        rec.verdict = ev.verdict;
        rec.stall = ev;
        break;
      }
    }
  } finally {
    await session.close();
  }
  return rec;
}

/** Per setting: rounds, rounds that stalled, runs and traffic seconds, verdict kinds. */
export function totals(records: readonly RoundRecord[], settings: readonly BarrierSetting[]): SettingTotals[] {
  return settings.map((barriers) => {
    const mine = records.filter((r) => r.barriers === barriers);
    const verdicts: Record<string, number> = {};
    for (const r of mine) {
      if (!r.verdict) continue;
      const key = r.verdict.split(':').slice(0, 2).join(':').trim(); // "tx0: kick-lost (driver side)"
      verdicts[key] = (verdicts[key] ?? 0) + 1;
    }
    return {
      barriers,
      rounds: mine.length,
      stalledRounds: mine.filter((r) => r.stalled).length,
      runs: mine.reduce((a, r) => a + r.runs, 0),
      trafficS: mine.reduce((a, r) => a + r.trafficS, 0),
      verdicts,
    };
  });
}
