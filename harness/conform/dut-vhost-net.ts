// Kernel vhost-net as a DUT (harness/vhost/dut.ts creates the tap or raw socket backend in a
// run-owned namespace). Capability-gated: without /dev/vhost-net nothing is created.
import { CapabilityError } from '../core/errors.ts';
import type { Ledger } from '../core/ledger.ts';
import { startDut, type Dut } from '../vhost/dut.ts';
import { vhostNetMissing } from '../vhost/vhost-kernel.ts';
import type { Support } from '../vhost/session.ts';
import { memfdRigMemory, type ConformDut, type RigMemory } from './dut.ts';
import type { ControlSession } from './types.ts';
import { FramePortWire, type Wire } from './wire.ts';

/**
 * Kernel vhost-net. On a host without /dev/vhost-net nothing is created: the DUT reports itself
 * unavailable and every check is skipped with that reason.
 */
export class VhostNetConformDut implements ConformDut {
  readonly transport = 'vhost-net' as const;
  readonly noWire = undefined;
  readonly queuePairs = 1;
  readonly restarts = 0;
  readonly versions: Record<string, string> = {};
  readonly name: string;
  readonly label: string;

  private constructor(
    readonly backend: 'tap' | 'raw',
    private readonly dut: Dut | undefined,
    readonly unavailable: string | undefined,
    readonly offered: bigint,
  ) {
    this.name = `vhost-net-${backend}`;
    this.label = `kernel vhost-net with ${backend === 'tap' ? 'a tap' : 'an AF_PACKET raw socket'} backend`;
  }

  static async start(backend: 'tap' | 'raw', ledger: Ledger): Promise<VhostNetConformDut> {
    const missing = vhostNetMissing();
    if (missing) return new VhostNetConformDut(backend, undefined, missing, 0n);
    try {
      const dut = await startDut({ kind: 'vhost-net', backend: backend === 'tap' ? 'tap' : 'packet' }, ledger);
      const s = await dut.connect();
      let offered = 0n;
      try {
        await s.setOwner();
        offered = await s.getFeatures();
      } finally {
        await s.close();
      }
      return new VhostNetConformDut(backend, dut, undefined, offered);
    } catch (err) {
      if (err instanceof CapabilityError) return new VhostNetConformDut(backend, undefined, err.message, 0n);
      throw err;
    }
  }

  private wireCache: FramePortWire | undefined;
  get wire(): Wire | undefined {
    if (!this.dut?.frames) return undefined;
    this.wireCache ??= new FramePortWire(this.dut.frames, `AF_PACKET on ${this.dut.frames.ifname} in ${this.dut.frames.ns}`);
    return this.wireCache;
  }

  async connect(): Promise<ControlSession> {
    if (!this.dut) throw new CapabilityError(this.unavailable ?? 'vhost-net unavailable');
    return this.dut.connect();
  }
  async attach(s: ControlSession, rings: number[]): Promise<void> {
    await this.dut?.attach(s as Parameters<Dut['attach']>[0], rings);
  }
  memory(bytes: number): RigMemory {
    // The kernel dereferences user addresses in this process: the table carries the real mapping.
    return memfdRigMemory(bytes, 'process');
  }
  async ensurePairs(n: number): Promise<Support> {
    return n <= 1 ? { ok: true } : { ok: false, reason: 'vhost-net serves one queue pair per open fd; the suite opens one' };
  }
  alive(): boolean {
    return this.dut?.alive() ?? true;
  }
  deathNote(): string {
    return this.unavailable ?? 'kernel device';
  }
  async close(): Promise<void> {
    this.wireCache?.close();
    await this.dut?.close();
  }
}
