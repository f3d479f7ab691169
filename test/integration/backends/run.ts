// One real run for a backend test: a ledger in a private state dir, the topology, the backend
// set up with the given config, and a check at the end that nothing of the run is left.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunConfigSchema, type RunConfigInput, type RunConfig } from '../../../harness/config/schema.ts';
import { Ledger } from '../../../harness/core/ledger.ts';
import { track, untrack } from '../../../harness/core/lifecycle.ts';
import { shortId } from '../../../harness/core/names.ts';
import { topologyProvider } from '../../../harness/topology/index.ts';
import type { HostTopology } from '../../../harness/topology/types.ts';
import type { BackendContext } from '../../../harness/backends/types.ts';
import { settle } from '../topology/host-state.ts';

export interface Run {
  ledger: Ledger;
  topo: HostTopology;
  config: RunConfig;
  ctx: BackendContext;
  /** Paths whose absence the final check also asserts (tap nodes, sockets). */
  watch: string[];
}

export async function withRun(input: RunConfigInput, body: (r: Run) => Promise<void>): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-state-'));
  const prevState = process.env.VNETBENCH_STATE_DIR;
  process.env.VNETBENCH_STATE_DIR = stateDir;
  const ledger = Ledger.create(shortId());
  track(ledger); // a test run killed by SIGTERM/SIGINT still tears down
  const id = ledger.runId;
  const watch: string[] = [];
  try {
    const config = RunConfigSchema.parse(input);
    const topo = await topologyProvider(config.topology).create(ledger);
    const workDir = path.join(os.tmpdir(), `vnb-${id}-work`);
    ledger.add({ kind: 'tmpdir', path: workDir });
    fs.mkdirSync(workDir);
    await body({ ledger, topo, config, watch, ctx: { config, topology: topo, ledger, workDir, accel: 'tcg' } });
  } finally {
    const left = await ledger.teardown();
    untrack(ledger);
    process.env.VNETBENCH_STATE_DIR = prevState;
    fs.rmSync(stateDir, { recursive: true, force: true });
    assert.deepEqual(left, [], 'teardown failures');
  }
  assert.deepEqual(await settle(id, watch), [], 'objects left after teardown');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
