// Entry point of the topology layer: `topologyProvider(config.topology)` gives a
// TopologyProvider whose create(ledger) plans (reading the host only in real-NIC mode) and
// applies. The run id is the ledger's when it is a 6-hex-digit id (so `vnetbench cleanup
// --run <id>` and the object names agree), otherwise a fresh one.
import type { Topology } from '../config/schema.ts';
import type { Ledger } from '../core/ledger.ts';
import { shortId } from '../core/names.ts';
import { applyPlan } from './apply.ts';
import { readHostFacts } from './hostfacts.ts';
import { planTopology } from './plan.ts';
import type { HostTopology, TopologyProvider } from './types.ts';

export function runIdFor(ledger: Ledger): string {
  return /^[0-9a-f]{6}$/.test(ledger.runId) ? ledger.runId : shortId();
}

export function topologyProvider(cfg: Topology, log?: (m: string) => void): TopologyProvider {
  return {
    async create(ledger: Ledger): Promise<HostTopology> {
      const id = runIdFor(ledger);
      const facts = cfg.kind === 'nic' ? await readHostFacts() : undefined;
      return applyPlan(ledger, planTopology(cfg, id, facts), log);
    },
  };
}

export { planTopology } from './plan.ts';
export type { HostTopology, TopologyProvider } from './types.ts';
