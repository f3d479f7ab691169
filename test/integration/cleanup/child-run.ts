// A stand-in for `vnetbench run` that the cleanup tests kill: it builds a topology and a backend
// in a ledger (VNETBENCH_STATE_DIR), starts QEMU (-S) on the backend's arguments, prints one JSON
// line per phase on stdout, and then waits to be killed. Teardown on SIGTERM/SIGINT is the real
// harness/core/lifecycle.ts.
//   child-run.ts <backend> [embedded | nic:<nic>:<peerNic>] [--stop-after topology]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunConfigSchema, type BackendName } from '../../../harness/config/schema.ts';
import { Ledger } from '../../../harness/core/ledger.ts';
import { withLedger } from '../../../harness/core/lifecycle.ts';
import { shortId } from '../../../harness/core/names.ts';
import { getBackend } from '../../../harness/backends/registry.ts';
import { topologyProvider } from '../../../harness/topology/index.ts';
import { startQemu } from '../backends/qemu-probe.ts';

const [backend = 'copy', where = 'embedded', ...flags] = process.argv.slice(2);
const stopAfterTopology = flags.includes('--stop-after') && flags[flags.indexOf('--stop-after') + 1] === 'topology';
const say = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
const forever = () => new Promise<never>(() => setInterval(() => {}, 60_000));

const topology = where.startsWith('nic:')
  ? { kind: 'nic' as const, nic: where.split(':')[1]!, peerNic: where.split(':')[2]! }
  : { kind: 'embedded' as const };
const config = RunConfigSchema.parse({ backends: [backend], topology });
const id = shortId();
say({ phase: 'start', id, pid: process.pid });

await withLedger(Ledger.create(id), async (ledger) => {
  const topo = await topologyProvider(config.topology).create(ledger);
  say({ phase: 'topology', id, guestNs: topo.guestNs, peerNs: topo.peerNs });
  if (stopAfterTopology) return forever();
  const workDir = path.join(os.tmpdir(), `vnb-${id}-work`);
  ledger.add({ kind: 'tmpdir', path: workDir });
  fs.mkdirSync(workDir);
  const inst = await getBackend(backend as BackendName).setup({ config, topology: topo, ledger, workDir, accel: 'tcg' });
  const qemu = await startQemu(topo, inst.net, ledger);
  say({ phase: 'ready', id, qemuPid: qemu.pid, details: inst.details ?? {}, processes: inst.processes() });
  return forever();
});
