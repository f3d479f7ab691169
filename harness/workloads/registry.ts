// Engine name -> engine. The tool resolver says where each binary is on each side (binaries.ts).
import type { EngineName, WorkloadName } from '../config/schema.ts';
import { iperf3Engine } from './iperf3.ts';
import { netperfEngine } from './netperf.ts';
import { sockperfEngine } from './sockperf.ts';
import { directionsOf, type Direction, type ToolResolver, type WorkloadEngine } from './types.ts';

const FACTORIES: Record<EngineName, (tools: ToolResolver) => WorkloadEngine> = {
  netperf: netperfEngine,
  iperf3: iperf3Engine,
  sockperf: sockperfEngine,
};

export function engineFor(name: EngineName, tools: ToolResolver): WorkloadEngine {
  return FACTORIES[name](tools);
}

/** Every engine's answer for every workload (and both UDP_STREAM directions): the support matrix. */
export function supportMatrix(
  tools: ToolResolver,
  workloads: readonly WorkloadName[],
  size: number,
): { engine: EngineName; workload: WorkloadName; direction?: Direction; clientSide?: string; unsupported?: string }[] {
  const rows = [];
  for (const name of Object.keys(FACTORIES) as EngineName[]) {
    const e = engineFor(name, tools);
    for (const workload of workloads) {
      for (const direction of directionsOf(workload)) {
        const why = e.unsupported({ workload, size, direction });
        rows.push({ engine: name, workload, direction, ...(why ? { unsupported: why } : { clientSide: e.clientSide({ workload, direction }) }) });
      }
    }
  }
  return rows;
}
