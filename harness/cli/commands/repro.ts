// `vnetbench repro tcg-stall`: the lost-notification reproducer (see harness/repro/tcg-stall.ts).
// It prints figures and exits 0 whatever it measured; bad options exit 2.
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.ts';
import { BACKENDS, WORKLOADS, type BackendName } from '../../config/schema.ts';
import { showKickBarriers, KICK_FUNCTION } from '../../repro/tcg-barriers.ts';
import { reproTcgStall, type BarrierSetting } from '../../repro/tcg-stall.ts';
import type { WorkloadSpec } from '../../workloads/types.ts';

interface ReproFlags {
  rounds: string;
  runs: string;
  duration: string;
  barriers: string;
  backend: string;
  workloads: string;
  size: string;
  out?: string;
}

function int(v: string, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${v}"`);
  return n;
}

function barrierSettings(list: string): BarrierSetting[] {
  const settings = list.split(',').map((s) => s.trim());
  if (!settings.length || settings.some((s) => s !== 'on' && s !== 'off')) throw new UsageError(`--barriers takes off, on or off,on; got "${list}"`);
  return settings as BarrierSetting[];
}

export function register(program: Command): void {
  const repro = program.command('repro').description('reproducers of problems found in the things under test');
  repro
    .command('tcg-stall')
    .description('QEMU < 8.0, TCG, one vCPU: guest barriers elided, a virtio kick is lost and the NIC stalls; A/B against the workaround')
    .option('--rounds <n>', 'rounds; each boots one guest per setting', '30')
    .option('--runs <n>', 'netperf runs per round (a stall ends the round)', '6')
    .option('--duration <s>', 'seconds per netperf run', '3')
    .option('--barriers <list>', 'off (QEMU default, -smp 1), on (workaround, -smp 1,maxcpus=2), or both', 'off,on')
    .option('--backend <name>', 'backend the guest uses', 'copy')
    .option('--workloads <list>', 'netperf tests, cycled within a round', 'TCP_STREAM,TCP_RR')
    .option('--size <bytes>', 'message size', '1024')
    .option('--out <file>', 'JSONL file: one record per round with the stall evidence')
    .action(async (f: ReproFlags) => {
      const settings = barrierSettings(f.barriers);
      if (!(BACKENDS as readonly string[]).includes(f.backend)) throw new UsageError(`--backend ${f.backend} is not one of ${BACKENDS.join(', ')}`);
      const workloads = f.workloads.split(',').map((w) => w.trim());
      for (const w of workloads) {
        if (!(WORKLOADS as readonly string[]).includes(w)) throw new UsageError(`--workloads: ${w} is not one of ${WORKLOADS.join(', ')} (UDP_STREAM runs guest -> peer)`);
      }
      const log = (m: string) => process.stdout.write(`${m}\n`);
      const totals = await reproTcgStall({
        rounds: int(f.rounds, '--rounds', 1, 1000),
        runsPerRound: int(f.runs, '--runs', 1, 1000),
        durationS: int(f.duration, '--duration', 1, 600),
        settings,
        backend: f.backend as BackendName,
        workloads: workloads as WorkloadSpec['workload'][],
        size: int(f.size, '--size', 1, 65507),
        ...(f.out ? { out: f.out } : {}),
        log,
      });
      for (const t of totals) {
        const kinds = Object.entries(t.verdicts).map(([k, n]) => `${n}x ${k}`).join('; ');
        log(`barriers=${t.barriers}: ${t.stalledRounds}/${t.rounds} rounds stalled, ${t.runs} runs, ${t.trafficS} s of traffic${kinds ? ` (${kinds})` : ''}`);
      }
    });
  repro
    .command('tcg-barriers')
    .description(`the mechanism: TCG ops QEMU emits for the guest's ${KICK_FUNCTION} barrier, without and with the workaround`)
    .option('--barriers <list>', 'off, on, or both', 'off,on')
    .option('--keep-logs <dir>', "keep QEMU's -d op logs here")
    .action(async (f: { barriers: string; keepLogs?: string }) => {
      const log = (m: string) => process.stdout.write(`${m}\n`);
      const results = await showKickBarriers({ settings: barrierSettings(f.barriers), ...(f.keepLogs ? { keepLogs: f.keepLogs } : {}), log });
      for (const r of results) {
        log(
          `barriers=${r.barriers} (-smp ${r.qemuSmp}): ${r.blocks} translation block(s) of ${r.symbol}, ` +
            `${r.atomicCalls} host atomic call(s), ${r.barrierOps} mb op(s)` +
            `${r.atomicCalls + r.barrierOps === 0 ? ': the guest barrier is gone' : ': the guest barrier is kept'} (log ${r.logFile})`,
        );
      }
    });
}
