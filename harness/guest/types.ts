// The guest layer's contract: boot a guest with a backend's network arguments, talk to it over
// a control channel that is not the NIC under test, and shut it down.

export interface GuestImage {
  kernel: string;
  initrd: string;
  /** Content hash of the inputs (cache key), and the guest kernel release. */
  hash: string;
  kernelRelease: string;
}

export interface GuestSpec {
  name: string; // QEMU -name, also the thread-name prefix
  image: GuestImage;
  accel: 'kvm' | 'tcg';
  memMiB: number;
  smp: number;
  /** Namespace to run QEMU in (undefined: host namespace). */
  netns?: string;
  /** Network arguments from the backend (see backends/types.ts QemuNet). */
  netArgs: string[];
  passFds: number[];
  sharedMemory: boolean;
  /** Guest NIC address; the agent configures it. */
  ip: string;
  prefixLen: number;
  workDir: string; // sockets (QMP, agent) and console log
  qemuBinary: string;
}

export interface AgentResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface GuestAgent {
  /** Run argv in the guest and wait (bounded by timeoutMs; a timeout is a TimeoutError). */
  exec(argv: string[], opts?: { timeoutMs?: number }): Promise<AgentResult>;
  /**
   * Start argv in the background in the guest; returns its guest pid. Its stdout and stderr go
   * to /run/vnb/p<pid>.out and .err in the guest (spawnOutput() in agent.ts).
   */
  spawn(argv: string[]): Promise<number>;
  readFile(path: string): Promise<string>;
}

export interface ThreadSample {
  tid: number;
  comm: string;
  /** utime + stime in clock ticks. */
  ticks: number;
}

export interface Guest {
  pid: number;
  commandLine: string[];
  agent: GuestAgent;
  /** Seconds from QEMU spawn to the agent's READY (NIC up, addressed). */
  bootToReadyS: number;
  /** Guest NIC name inside the guest (eth0). */
  nic: string;
  shutdown(): Promise<void>;
}
