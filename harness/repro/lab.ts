// What every reproducer stands on: a run configuration for one backend, the guest image and
// netperf, an embedded topology in a ledger of its own with a private work dir (all removed at
// the end, also on Ctrl-C), guests booted on it with the tuning under study, and one netperf
// run between fresh servers.
import fs from 'node:fs';
import path from 'node:path';
import type { BackendName } from '../config/schema.ts';
import { validateConfig } from '../config/load.ts';
import { Ledger } from '../core/ledger.ts';
import { withLedger } from '../core/lifecycle.ts';
import { shortId } from '../core/names.ts';
import { getBackend } from '../backends/registry.ts';
import type { BootTuning } from '../guest/cmdline.ts';
import { ensureImage } from '../guest/image.ts';
import { GuestSession } from '../run/session.ts';
import { topologyProvider } from '../topology/index.ts';
import type { HostTopology } from '../topology/types.ts';
import { hostTools } from '../workloads/binaries.ts';
import { engineFor } from '../workloads/registry.ts';
import { runClients, serverAddress, startServers, type ClientsResult } from '../workloads/runner.ts';
import type { WorkloadEngine, WorkloadSpec } from '../workloads/types.ts';

export interface Lab {
  engine: WorkloadEngine;
  topo: HostTopology;
  /** Private, ledgered, removed at the end: consoles, logs, files a reproducer writes. */
  workDir: string;
  /** Boot a TCG guest on the lab's backend and topology. */
  boot(tuning: BootTuning): Promise<GuestSession>;
}

export interface LabOptions {
  backend: BackendName;
  durationS: number;
  size: number;
  /** Names the work dir: /tmp/vnb-<id>-<name>. */
  name: string;
  log: (line: string) => void;
}

export async function withLab<T>(o: LabOptions, body: (lab: Lab) => Promise<T>): Promise<T> {
  const config = validateConfig({ backends: [o.backend], duration: o.durationS, sizes: [o.size] }, 'repro options');
  const backend = getBackend(o.backend);
  const image = await ensureImage({ log: o.log });
  const engine = engineFor('netperf', hostTools);
  return withLedger(Ledger.create(shortId()), async (ledger) => {
    const topo = await topologyProvider(config.topology).create(ledger);
    const workDir = path.join('/tmp', `vnb-${topo.id}-${o.name}`);
    ledger.add({ kind: 'tmpdir', path: workDir });
    fs.mkdirSync(workDir, { recursive: true });
    const boot = (tuning: BootTuning) =>
      GuestSession.start({ config, backend, topology: topo, ledger, accel: 'tcg', image, workDir, tuning, log: () => {} });
    return body({ engine, topo, workDir, boot });
  });
}

/** A netperf spec for the lab's guest (client) and peer (server). */
export function labSpec(lab: Lab, base: Omit<WorkloadSpec, 'serverIp'>): WorkloadSpec {
  return { ...base, serverIp: serverAddress(lab.engine, base, { guestIp: lab.topo.guestIp, peerIp: lab.topo.peerIp }) };
}

/** One client run between servers started for it and stopped after it. */
export async function netperfOnce(lab: Lab, session: GuestSession, spec: WorkloadSpec, timeoutMs?: number): Promise<ClientsResult> {
  const servers = await startServers(lab.engine, spec, session.sides);
  try {
    return await runClients(lab.engine, spec, session.sides, timeoutMs === undefined ? {} : { timeoutMs });
  } finally {
    await servers.stop().catch(() => {});
  }
}

/** The -smp value a guest was started with (the setting under study). */
export function qemuSmp(commandLine: readonly string[]): string {
  const at = commandLine.indexOf('-smp');
  return at >= 0 ? (commandLine[at + 1] ?? '?') : '?';
}
