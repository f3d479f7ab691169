// Each engine for real between two namespaces (a veth pair; no guest yet): servers in one, clients
// in the other, a short TCP_STREAM, TCP_RR and UDP_STREAM (plus the peer-client paths), parsed and
// checked for consistency; the Sampler runs around every iteration with a real QEMU process (no
// guest kernel: firmware only, so its vCPU thread exists) standing in for the guest's QEMU.
// Everything is ledgered and the test checks nothing is left.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineName, WorkloadName } from '../../../harness/config/schema.ts';
import { Ledger, processAlive } from '../../../harness/core/ledger.ts';
import { shortId } from '../../../harness/core/names.ts';
import { findTool } from '../../../harness/setup/tools.ts';
import { Sampler } from '../../../harness/metrics/sampler.ts';
import { hostToolAvailable, hostToolsBothSides } from '../../../harness/workloads/binaries.ts';
import { measureIteration } from '../../../harness/workloads/measure.ts';
import { engineFor } from '../../../harness/workloads/registry.ts';
import { serverAddress, startServers } from '../../../harness/workloads/runner.ts';
import type { RunningServer } from '../../../harness/workloads/sides.ts';
import { isStream, type Direction, type ToolName, type WorkloadSpec } from '../../../harness/workloads/types.ts';
import { createNsPair, type NsPair } from './nspair.ts';
import { leftovers } from '../topology/host-state.ts';

const DURATION_S = 2;
const SIZE: Record<string, number> = { TCP_STREAM: 16384, TCP_MAERTS: 16384, UDP_STREAM: 1024, TCP_RR: 64 };

const notRoot = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : undefined;
const noQemu = findTool('qemu-system-x86_64') ? undefined : 'qemu-system-x86_64 not installed';
const TOOLS: Record<EngineName, ToolName[]> = { netperf: ['netperf', 'netserver'], iperf3: ['iperf3'], sockperf: ['sockperf'] };
const missing = (e: EngineName) => TOOLS[e].filter((t) => !hostToolAvailable(t));

interface Case {
  engine: EngineName;
  workload: WorkloadName;
  direction?: Direction;
}
const CASES: Case[] = [
  ...(['netperf', 'iperf3', 'sockperf'] as const).flatMap((engine) =>
    (['TCP_STREAM', 'TCP_RR', 'UDP_STREAM'] as const).map((workload) => ({ engine, workload })),
  ),
  // The paths where the client runs on the peer (its CPU is the peer workload's).
  { engine: 'netperf', workload: 'UDP_STREAM', direction: 'peer-to-guest' },
  { engine: 'sockperf', workload: 'TCP_MAERTS' },
];

describe('workload engines between two namespaces', { skip: notRoot }, () => {
  let ledger: Ledger;
  let pair: NsPair;
  let qemu: RunningServer | undefined;
  const pids: number[] = [];

  before(async () => {
    ledger = Ledger.create(`test-workloads-${shortId()}`);
    pair = await createNsPair(ledger);
    if (!noQemu) {
      // Firmware only (no disk, no kernel): enough for named vCPU and main-loop threads.
      qemu = await pair.sides.guest.spawnServer([
        'qemu-system-x86_64', '-name', `vnbit${pair.id},debug-threads=on`, '-nodefaults', '-display', 'none',
        '-accel', 'tcg', '-m', '64', '-boot', 'reboot-timeout=-1', '-no-reboot',
      ]);
      pids.push(qemu.hostPid!);
    }
  });

  after(async () => {
    await ledger?.teardown();
  });

  for (const c of CASES) {
    const name = `${c.engine} ${c.workload}${c.direction ? ` ${c.direction}` : ''}`;
    const gone = missing(c.engine);
    test(name, { skip: gone.length ? `${gone.join(', ')} not available on this host` : undefined }, async (t) => {
      const engine = engineFor(c.engine, hostToolsBothSides);
      const base = { workload: c.workload, size: SIZE[c.workload], durationS: DURATION_S, streams: 1, direction: c.direction };
      const why = engine.unsupported(base);
      if (why) return t.skip(why);
      const spec: WorkloadSpec = { ...base, serverIp: serverAddress(engine, base, pair) };
      const servers = await startServers(engine, spec, pair.sides);
      pids.push(...servers.hostPids);
      try {
        const sampler = new Sampler({
          qemuPid: qemu?.hostPid,
          peerPids: servers.side === 'peer' ? servers.hostPids : [],
          guest: { readFile: (p) => pair.sides.guest.readFile(p), nic: pair.guestIf },
        });
        const r = await measureIteration(engine, spec, pair.sides, sampler);
        const m = r.metrics;
        t.diagnostic(JSON.stringify(m));

        // The engine's numbers.
        if (isStream(c.workload)) {
          assert.ok(m.throughput_bps! > 0, 'throughput');
          if (m.loss_pct !== undefined) assert.ok(m.loss_pct >= 0 && m.loss_pct <= 100);
          assert.ok(m.service_demand_host_us_per_kb! > 0);
          assert.ok(m.throughput_per_core_bps! > 0);
        } else {
          assert.ok(m.transactions_per_s! > 0, 'transactions');
          assert.ok(m.latency_mean_us! > 0);
          // One transaction in flight: rate ~ 1 / mean round trip (loose: sampling windows differ).
          const ratio = m.transactions_per_s! / (1e6 / m.latency_mean_us!);
          assert.ok(ratio > 0.5 && ratio < 2, `transactions/s ${m.transactions_per_s} vs 1e6/latency ${1e6 / m.latency_mean_us!}`);
          assert.ok(m.latency_p50_us! <= m.latency_p99_us!);
          assert.ok(m.service_demand_host_us_per_trans! > 0);
        }
        if (m.retransmits !== undefined) assert.ok(m.retransmits >= 0);

        // The sampler's numbers.
        assert.deepEqual(r.problems, [], 'CPU accounting consistent');
        assert.ok(m.host_cpu_total_pct! > 0, 'host total');
        assert.ok(m.host_softirq_pct! <= m.host_cpu_total_pct!);
        assert.ok(m.harness_cpu_pct! >= 0);
        assert.ok(m.packets_per_s! > 0, "the 'guest' side's veth moved packets");
        assert.ok(m.cpu_peer_pct !== undefined, 'peer workload CPU measured');
        if (c.workload === 'TCP_STREAM') assert.ok(m.cpu_peer_pct! > 0, 'the receiving server used CPU');
        if (qemu) {
          // Classes within the process total is in r.problems (with per-thread tick rounding);
          // here: the breakdown is present and the process total fits in the host's.
          assert.ok(m.cpu_vcpu_pct! >= 0 && m.cpu_qemu_io_pct! >= 0 && m.cpu_vhost_pct === 0);
          assert.ok(m.qemu_process_pct! <= m.host_cpu_total_pct!);
        }
        assert.equal(r.clientSide, engine.clientSide(spec));
        assert.equal(r.raw.length, 1);
      } finally {
        await servers.stop();
      }
    });
  }

  test('the QEMU stand-in has named vCPU threads, classified as such', { skip: noQemu }, async () => {
    const sampler = new Sampler({ qemuPid: qemu!.hostPid });
    const a = await sampler.snapshot('open');
    await new Promise((r) => setTimeout(r, 500));
    const b = await sampler.snapshot('close');
    assert.ok(b.host.qemu!.threads.some((th) => th.comm === 'CPU 0/TCG'), b.host.qemu!.threads.map((th) => th.comm).join(', '));
    const w = sampler.window(a, b, 'TCP_STREAM', {});
    assert.deepEqual(w.problems, []);
    assert.ok(w.metrics.qemu_process_pct! >= 0);
  });

  test('teardown leaves nothing behind', async () => {
    await qemu?.stop();
    const failures = await ledger.teardown();
    assert.deepEqual(failures, []);
    assert.deepEqual(await leftovers(pair.id), []);
    for (const pid of pids) assert.ok(!processAlive(pid), `process ${pid} still alive`);
  });
});
