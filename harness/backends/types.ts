// One contract for every host backend. A backend file says what it needs, sets up its host
// objects inside the topology, hands QEMU its -netdev/-device arguments (plus fds to inherit),
// names the processes whose CPU belongs to it, and removes what it made (through the ledger).
import type { BackendName, RunConfig } from '../config/schema.ts';
import type { Ledger } from '../core/ledger.ts';
import type { HostTopology } from '../topology/types.ts';
import type { HostCapabilities } from '../doctor/capabilities.ts';

export interface Availability {
  runnable: boolean;
  /** Why it can or cannot run, with the evidence ("/dev/vhost-net missing"). */
  reason: string;
  /** What to install or enable when it cannot run. */
  fix?: string;
  /** Every requirement it checks, met or not ("tap (/dev/net/tun)", "root", ...), for doctor --json. */
  requires?: string[];
}

export interface BackendContext {
  config: RunConfig;
  topology: HostTopology;
  ledger: Ledger;
  /** Directory for this backend's logs and sockets (inside the run directory or a ledgered tmpdir). */
  workDir: string;
  /** How the guest will run, once known: vhost-user under TCG needs the MSI-X workaround (vectors=0). */
  accel?: 'kvm' | 'tcg';
}

export interface QemuNet {
  /** fds QEMU must inherit, in order; the launcher makes them fds 3, 4, ... in the child. */
  passFds: number[];
  /** -netdev/-device (and any -object/-chardev) arguments given the child fd numbers. */
  args(childFds: number[]): string[];
  /** Guest memory must be a shared memfd (vhost-user backends). */
  sharedMemory: boolean;
}

export interface BackendProcess {
  pid: number;
  /** Metric class: 'backend' for daemons this backend runs (testpmd, aio-tap). */
  role: string;
}

export interface BackendInstance {
  net: QemuNet;
  /** Processes besides QEMU whose CPU belongs to this backend. */
  processes(): BackendProcess[];
  /** Whether vhost-<qemupid> kernel workers are expected. */
  vhostWorkers: boolean;
  /** The host objects it made, for the manifest and for tests (link names, tap node, socket). */
  details?: Record<string, string | number | boolean>;
  /**
   * Stops this backend's processes, closes the fds this process still holds and removes the host
   * objects this backend made (marking them removed in the ledger), so the next backend can use
   * the same topology. Call it after QEMU has exited. Whatever it cannot remove stays in the
   * ledger for teardown and `vnetbench cleanup`.
   */
  close(): Promise<void>;
}

export interface Backend {
  name: BackendName;
  summary: string;
  availability(caps: HostCapabilities): Availability;
  setup(ctx: BackendContext): Promise<BackendInstance>;
}
