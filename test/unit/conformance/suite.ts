// Runs the whole conformance suite against the in-process reference device (or a deliberately
// broken variant). Test helper, not a test.
import { ReferenceDut } from '../../../harness/conform/dut-reference.ts';
import { runSuite } from '../../../harness/conform/runner.ts';
import type { ConformanceRecord } from '../../../harness/results/types.ts';
import type { NetFault } from '../../../harness/virtio/device/broken-net.ts';
import { CHECKS } from '../../../suites/conformance/index.ts';

export async function runReference(fault?: NetFault): Promise<Map<string, ConformanceRecord>> {
  const dut = new ReferenceDut(fault);
  try {
    const r = await runSuite({ dut, checks: CHECKS });
    return new Map(r.records.map((x) => [x.requirement, x]));
  } finally {
    await dut.close();
  }
}

/** Requirement IDs whose outcome is in `outcomes`. */
export function ids(records: Map<string, ConformanceRecord>, ...outcomes: ConformanceRecord['outcome'][]): string[] {
  return [...records.values()].filter((r) => outcomes.includes(r.outcome)).map((r) => r.requirement).sort();
}
