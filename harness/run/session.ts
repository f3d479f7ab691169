// One backend's guest on one topology: the backend instance, the QEMU guest attached to it, and
// the guest's queue pairs. `reboot()` replaces both (a stalled guest is not worth saving: its
// rings are wedged), so the cells that follow start from a fresh boot on the same topology.
import type { RunConfig } from '../config/schema.ts';
import type { Ledger } from '../core/ledger.ts';
import type { Backend, BackendInstance } from '../backends/types.ts';
import { childFds, type BootTuning } from '../guest/cmdline.ts';
import { launchGuest, type RunningGuest } from '../guest/qemu.ts';
import type { GuestImage } from '../guest/types.ts';
import type { HostTopology } from '../topology/types.ts';
import { agentSide } from '../workloads/guest-side.ts';
import { hostSide } from '../workloads/host-side.ts';
import type { Sides } from '../workloads/runner.ts';

export interface SessionSpec {
  config: RunConfig;
  backend: Backend;
  topology: HostTopology;
  ledger: Ledger;
  accel: 'kvm' | 'tcg';
  image: GuestImage;
  /** Logs and consoles of every boot go here (one file per boot: name-N.*). */
  workDir: string;
  tuning?: BootTuning;
  log: (msg: string) => void;
}

export class GuestSession {
  /** Boots so far (1 after start); the guest's QEMU name carries it, so each boot's logs stay. */
  boots = 0;
  /** How the workload runner reaches the guest (its agent) and the peer; renewed at each boot. */
  sides: Sides;
  private closed = false;

  private constructor(
    private readonly spec: SessionSpec,
    public instance: BackendInstance,
    public guest: RunningGuest,
  ) {
    this.sides = this.makeSides();
  }

  static async start(spec: SessionSpec): Promise<GuestSession> {
    const { instance, guest } = await boot(spec, 1);
    const s = new GuestSession(spec, instance, guest);
    s.boots = 1;
    return s;
  }

  private makeSides(): Sides {
    const { topology, ledger } = this.spec;
    return { guest: agentSide(this.guest.agent), peer: hostSide('peer', (a) => topology.inPeerNs(a), ledger) };
  }

  /** Backend processes whose CPU is the backend's (testpmd, aio-tap). */
  backendPids(): number[] {
    return this.instance.processes().map((p) => p.pid);
  }

  /** Shut the guest and the backend instance down, then set both up and boot again. */
  async reboot(): Promise<void> {
    await this.close();
    const { instance, guest } = await boot(this.spec, this.boots + 1);
    this.instance = instance;
    this.guest = guest;
    this.sides = this.makeSides();
    this.boots++;
    this.closed = false;
  }

  /** Once per boot: a reboot that failed to boot leaves nothing more to close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.guest.shutdown();
    } finally {
      await this.instance.close();
    }
  }
}

async function boot(spec: SessionSpec, n: number): Promise<{ instance: BackendInstance; guest: RunningGuest }> {
  const { config, topology: topo, ledger } = spec;
  const instance = await spec.backend.setup({ config, topology: topo, ledger, workDir: spec.workDir, accel: spec.accel });
  try {
    const guest = await launchGuest(
      {
        name: `vnb-${topo.id}-${spec.backend.name}${n > 1 ? `-${n}` : ''}`,
        image: spec.image,
        accel: spec.accel,
        memMiB: config.guest.memMiB,
        smp: config.guest.smp,
        netns: topo.guestNs,
        netArgs: instance.net.args(childFds(instance.net.passFds)),
        passFds: instance.net.passFds,
        sharedMemory: instance.net.sharedMemory,
        ip: topo.guestIp,
        prefixLen: topo.prefixLen,
        workDir: spec.workDir,
        qemuBinary: config.qemu.binary,
      },
      ledger,
      { log: (m) => spec.log(`  ${m}`), ...(spec.tuning ? { tuning: spec.tuning } : {}) },
    );
    try {
      if (config.queues > 1) await enableGuestQueues(guest, config.queues, spec.log);
    } catch (e) {
      await guest.shutdown();
      throw e;
    }
    return { instance, guest };
  } catch (e) {
    await instance.close();
    throw e;
  }
}

/** Multiqueue: the guest driver starts with one queue pair; `ethtool -L` enables the rest. */
async function enableGuestQueues(guest: RunningGuest, queues: number, log: (m: string) => void): Promise<void> {
  const r = await guest.agent.exec(['ethtool', '-L', guest.nic, 'combined', String(queues)], { timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`enabling ${queues} queue pairs in the guest failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  log(`  guest ${guest.nic}: ${queues} queue pairs enabled`);
}
