// The mechanism behind the TCG stall, shown deterministically: the TCG ops QEMU generates for the
// guest driver's kick decision (virtqueue_kick_prepare_split, whose virtio_mb() is x86's
// `lock addl $0,-4(%rsp)`). Without CF_PARALLEL (QEMU < 8.0, -smp 1) the locked add becomes a
// plain load/add/store: no host barrier, so the store of avail.idx may pass the load of
// avail_event. With one possible extra CPU (-smp 1,maxcpus=2) it becomes a host atomic (a full
// barrier). The guest boots with nokaslr so the function's address is the same in every boot; it
// is read from the guest's /proc/kallsyms and handed to QEMU's -dfilter.
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_TUNING, type BootTuning } from '../guest/cmdline.ts';
import { labSpec, netperfOnce, qemuSmp, withLab } from './lab.ts';
import type { BarrierSetting } from './tcg-stall.ts';

/** Where the kick decision is: the split-ring variant, or the exported function it is inlined into. */
export const KICK_FUNCTIONS = ['virtqueue_kick_prepare_split', 'virtqueue_kick_prepare'] as const;
export const KICK_FUNCTION = KICK_FUNCTIONS.join(' / ');

export interface SymbolRange {
  name: string;
  start: bigint;
  size: bigint;
}

/**
 * /proc/kallsyms is several MB generated on every read; under TCG on a busy host it took longer
 * than the agent's default 10 s read deadline (CI, 2 cores shared with other work).
 */
const KALLSYMS_MS = 60_000;

/** A text symbol's address and its extent (up to the next symbol) from /proc/kallsyms text. */
export function findSymbol(kallsyms: string, name: string): SymbolRange | undefined {
  return findSymbols(kallsyms, [name]);
}

/** The first of `names` that /proc/kallsyms has as a text symbol. */
export function findSymbols(kallsyms: string, names: readonly string[]): SymbolRange | undefined {
  const syms = kallsyms
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 3 && /^[tT]$/.test(f[1]!))
    .map((f) => ({ addr: BigInt(`0x${f[0]}`), name: f[2]! }))
    .sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  for (const name of names) {
    const i = syms.findIndex((s) => s.name === name);
    if (i < 0 || syms[i]!.addr === 0n) continue;
    const next = syms.slice(i + 1).find((s) => s.addr > syms[i]!.addr);
    return { name, start: syms[i]!.addr, size: next ? next.addr - syms[i]!.addr : 0x200n };
  }
  return undefined;
}

export interface OpCounts {
  /** Translation blocks QEMU logged inside the range. */
  blocks: number;
  /** Host atomic helper calls (how a locked instruction is emitted with CF_PARALLEL). */
  atomicCalls: number;
  /** Explicit TCG memory barriers. */
  barrierOps: number;
}

/** Counts in a `-d op` log: "OP:" heads each block; "call atomic_*" and "mb $..." ops. */
export function countOps(log: string): OpCounts {
  const lines = log.split('\n');
  return {
    blocks: lines.filter((l) => /^OP(?: after optimization and liveness analysis)?:\s*$/.test(l)).length,
    atomicCalls: lines.filter((l) => /^\s+call atomic_/.test(l)).length,
    barrierOps: lines.filter((l) => /^\s+mb\s/.test(l)).length,
  };
}

export interface MechanismResult extends OpCounts {
  barriers: BarrierSetting;
  symbol: string;
  qemuSmp: string;
  range: string;
  logFile: string;
}

export async function showKickBarriers(o: { settings: BarrierSetting[]; keepLogs?: string; log: (m: string) => void }): Promise<MechanismResult[]> {
  return withLab({ backend: 'copy', durationS: 1, size: 64, name: 'barriers', log: o.log }, async (lab) => {
    const base: BootTuning = { ...DEFAULT_TUNING, extraAppend: ['nokaslr'] };
    // Where the kick decision lives in this kernel (fixed with nokaslr).
    const probe = await lab.boot(base);
    const range = findSymbols(await probe.guest.agent.readFile('/proc/kallsyms', { timeoutMs: KALLSYMS_MS }), KICK_FUNCTIONS);
    await probe.close();
    if (!range) throw new Error(`${KICK_FUNCTION} not in the guest's /proc/kallsyms (virtio_ring not loaded, or kptr_restrict)`);
    const filter = `0x${range.start.toString(16)}+0x${range.size.toString(16)}`;
    o.log(`${range.name} at ${filter} (nokaslr)`);

    const results: MechanismResult[] = [];
    for (const barriers of o.settings) {
      const logFile = path.join(lab.workDir, `ops-${barriers}.log`);
      const session = await lab.boot({ ...base, tcgBarriers: barriers === 'on', qemuArgs: ['-d', 'op,nochain', '-dfilter', filter, '-D', logFile] });
      try {
        const again = findSymbols(await session.guest.agent.readFile('/proc/kallsyms', { timeoutMs: KALLSYMS_MS }), KICK_FUNCTIONS);
        if (again?.start !== range.start) throw new Error(`${KICK_FUNCTION} moved between boots (${again?.start.toString(16)} vs ${range.start.toString(16)})`);
        // Traffic, so the guest kicks its TX queue and the function is translated and logged.
        await netperfOnce(lab, session, labSpec(lab, { workload: 'TCP_RR', size: 64, streams: 1, durationS: 1 }));
      } finally {
        await session.close();
      }
      const counts = countOps(fs.readFileSync(logFile, 'utf8'));
      const kept = o.keepLogs ? path.join(o.keepLogs, `ops-${barriers}.log`) : logFile;
      if (o.keepLogs) {
        fs.mkdirSync(o.keepLogs, { recursive: true });
        fs.copyFileSync(logFile, kept);
      }
      results.push({ barriers, symbol: range.name, qemuSmp: qemuSmp(session.guest.commandLine), range: filter, logFile: kept, ...counts });
    }
    return results;
  });
}
