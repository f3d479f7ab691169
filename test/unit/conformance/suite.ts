// Runs the whole conformance suite against the in-process reference device (or a deliberately
// broken variant). Test helper, not a test.
import { ReferenceDut } from '../../../harness/conform/dut-reference.ts';
import { runSuite } from '../../../harness/conform/runner.ts';
import type { ConformanceFindingRecord, ConformanceRecord } from '../../../harness/results/types.ts';
import type { FaultSpec, NetFault } from '../../../harness/virtio/device/broken-net.ts';
import { CHECKS } from '../../../suites/conformance/index.ts';

export interface ReferenceRun {
  /** One verdict per requirement (findings folded in), by ID. */
  by: Map<string, ConformanceRecord>;
  /** Requirements seen broken during other checks. */
  findings: ConformanceFindingRecord[];
  /** How often the fault fired, of how many opportunities. */
  fired: string;
}

export async function runReference(fault?: NetFault | FaultSpec): Promise<ReferenceRun> {
  const dut = new ReferenceDut(fault);
  try {
    const r = await runSuite({ dut, checks: CHECKS });
    return { by: new Map(r.verdicts.map((x) => [x.requirement, x])), findings: r.findings, fired: dut.trigger?.describe() ?? 'no fault' };
  } finally {
    await dut.close();
  }
}

/** Requirement IDs whose outcome is in `outcomes`. */
export function ids(records: Map<string, ConformanceRecord>, ...outcomes: ConformanceRecord['outcome'][]): string[] {
  return [...records.values()].filter((r) => outcomes.includes(r.outcome)).map((r) => r.requirement).sort();
}

/** Run `jobs` with at most `n` at a time (whole suites mostly wait: a few side by side share the thread well). */
export async function pool<T>(jobs: (() => Promise<T>)[], n: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, jobs.length) }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]();
      }
    }),
  );
  return out;
}
