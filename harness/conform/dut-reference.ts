// The in-process reference virtio-net device (or a deliberately broken variant) as a DUT: a fresh
// device per session, its link through InProcessWire, a JavaScript exception as its crash.
import { brokenNetDevice, type NetFault } from '../virtio/device/broken-net.ts';
import { ReferenceNetDevice, type ReferenceNetOptions } from '../virtio/device/reference-net.ts';
import type { Support } from '../vhost/session.ts';
import { sharedMemory } from '../virtio/memory.ts';
import type { ConformDut, RigMemory } from './dut.ts';
import { InProcessSession } from './inprocess-session.ts';
import type { ControlSession } from './types.ts';
import { InProcessWire } from './wire.ts';

export class ReferenceDut implements ConformDut {
  readonly transport = 'in-process' as const;
  readonly noWire = undefined;
  readonly unavailable = undefined;
  readonly queuePairs = 1;
  readonly versions = { device: 'harness/virtio/device/reference-net.ts' };
  readonly name: string;
  readonly label: string;
  readonly wire: InProcessWire;
  readonly offered: bigint;
  restarts = 0;
  private current: InProcessSession | undefined;
  private crash: Error | undefined;

  constructor(readonly fault?: NetFault) {
    this.name = fault ? `reference:${fault}` : 'reference';
    this.label = fault ? `in-process reference device with fault ${fault}` : 'in-process reference device';
    this.wire = new InProcessWire((f) => {
      const dev = this.current?.device;
      if (!dev) return;
      try {
        dev.inject(f);
      } catch (err) {
        this.crash = err as Error;
      }
    });
    this.offered = this.newDevice({}).offered;
  }

  private newDevice(o: ReferenceNetOptions): ReferenceNetDevice {
    return this.fault ? brokenNetDevice(this.fault, o) : new ReferenceNetDevice(o);
  }

  /** Each session gets a fresh device, as a vhost-user back-end starts a fresh device per connection. */
  async connect(): Promise<ControlSession> {
    let session: InProcessSession | undefined;
    const dev = this.newDevice({
      onTx: (frame) => this.wire.transmitted(frame),
      onCall: (q) => session?.notify(q),
    });
    session = new InProcessSession(dev, this.name, (err) => (this.crash ??= err));
    this.current = session;
    return session;
  }

  async attach(): Promise<void> {}

  memory(bytes: number): RigMemory {
    return { memory: sharedMemory(bytes), close: () => {} };
  }

  async ensurePairs(n: number): Promise<Support> {
    return n <= this.queuePairs ? { ok: true } : { ok: false, reason: `the in-process reference device is built with ${this.queuePairs} queue pair` };
  }

  alive(): boolean {
    return this.crash === undefined;
  }

  deathNote(): string {
    return this.crash ? `the device threw: ${this.crash.message}` : 'running';
  }

  async restart(): Promise<void> {
    this.crash = undefined;
    this.current = undefined;
    this.restarts++;
  }

  async close(): Promise<void> {
    this.wire.close();
  }
}
