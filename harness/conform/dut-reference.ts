// The in-process reference virtio-net device (or a deliberately broken variant) as a DUT: a fresh
// device per session, its link through InProcessWire, a JavaScript exception as its crash.
import { brokenNetDevice, faultSpecName, type FaultSpec, type NetFault } from '../virtio/device/broken-net.ts';
import { ALWAYS, FaultTrigger } from '../virtio/device/fault-trigger.ts';
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

  /** The fault and when it fires, if any. */
  readonly fault: FaultSpec | undefined;
  /** Shared by every session's device: "first" is the first opportunity in the DUT's life, across restarts. */
  readonly trigger: FaultTrigger | undefined;

  constructor(fault?: NetFault | FaultSpec) {
    this.fault = typeof fault === 'string' ? { fault, mode: ALWAYS } : fault;
    this.trigger = this.fault ? new FaultTrigger(this.fault.mode) : undefined;
    const spec = this.fault ? faultSpecName(this.fault) : undefined;
    this.name = spec ? `reference:${spec}` : 'reference';
    this.label = spec ? `in-process reference device with fault ${spec}` : 'in-process reference device';
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
    return this.fault ? brokenNetDevice(this.fault.fault, { ...o, trigger: this.trigger }) : new ReferenceNetDevice(o);
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
