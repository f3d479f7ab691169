// The reference virtio-net device (or a broken variant) as a vhost-user back-end process: a
// listening socket serving one front-end at a time, a fresh ReferenceBackend per connection, one
// link and one fault trigger for the whole life of the process (a fault that fired stays fired,
// whichever connection it fired in).
import type { Ledger } from '../core/ledger.ts';
import { FaultTrigger } from '../virtio/device/fault-trigger.ts';
import { faultSpecName, type FaultSpec } from '../virtio/device/broken-net.ts';
import { featureNames } from '../virtio/features.ts';
import { FrontEndSlot } from './front-end-slot.ts';
import { REFERENCE_BACKEND_FEATURES, ReferenceBackend } from './reference-backend.ts';
import { linkName, type Link } from './reference-link.ts';
import type { ReferenceDeviceOptions } from './reference-options.ts';
import { VhostUserListener } from './vhost-user-channel.ts';
import type { VhostUserDeviceConnection } from './vhost-user-device-io.ts';

export interface ReferenceServerOptions {
  socket: string;
  link: Link;
  fault?: FaultSpec;
  verbose?: boolean;
  log(message: string): void;
}

export class ReferenceServer {
  readonly trigger: FaultTrigger | undefined;
  private backend: ReferenceBackend | undefined;
  private slot: FrontEndSlot | undefined;
  private closed = false;

  private constructor(private readonly o: ReferenceServerOptions) {
    this.trigger = o.fault ? new FaultTrigger(o.fault.mode) : undefined;
    o.link.start((frame) => this.backend?.inject(frame));
  }

  /** Listen on the socket (the caller recorded its path). */
  static start(o: ReferenceServerOptions): ReferenceServer {
    const server = new ReferenceServer(o);
    server.slot = new FrontEndSlot(VhostUserListener.listen(o.socket), (conn) => server.serveOne(conn), o.log);
    return server;
  }

  /** Serve front-ends until close(). */
  serve(): Promise<void> {
    return this.slot!.run();
  }

  private async serveOne(conn: VhostUserDeviceConnection): Promise<void> {
    const backend = new ReferenceBackend({
      fault: this.o.fault,
      trigger: this.trigger,
      onTx: (frame) => this.o.link.send(frame),
      log: this.o.log,
      verbose: this.o.verbose,
      onCrash: () => conn.close(),
    });
    this.backend = backend;
    try {
      await conn.serve(backend.handlers, { onUnknown: backend.onUnknown });
      this.o.log('front-end disconnected');
    } catch (e) {
      // A malformed message or a reply that cannot be sent ends this connection, not the device.
      this.o.log(`connection closed: ${(e as Error).message}`);
    } finally {
      conn.close();
      if (this.o.verbose) this.o.log(`at disconnect: ${backend.describe()}`);
      backend.close();
      if (this.backend === backend) this.backend = undefined;
    }
  }

  /** One line: the link's counters and the fault's firings. */
  summary(): string {
    const c = this.o.link.counts;
    return `link ${this.o.link.label}: ${c.sent} sent, ${c.delivered} delivered, ${c.lost} lost${this.trigger ? `; fault ${faultSpecName(this.o.fault!)}: ${this.trigger.describe()}` : ''}`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.slot?.close();
    this.o.link.close();
  }
}

/** Serve until SIGINT or SIGTERM; the link is open already (a bad tap stopped the command before anything was created). */
export async function runReferenceDevice(o: ReferenceDeviceOptions, link: Link, ledger: Ledger): Promise<void> {
  const log = (m: string) => process.stderr.write(`reference-device: ${m}\n`);
  let server: ReferenceServer | undefined;
  try {
    ledger.add({ kind: 'file', path: o.socket });
    server = ReferenceServer.start({ socket: o.socket, link, fault: o.fault, verbose: o.verbose, log });
    log(`link ${linkName(o.link)}${o.fault ? `, fault ${faultSpecName(o.fault)}` : ', no fault'}; offering ${featureNames(REFERENCE_BACKEND_FEATURES).join(' ')}`);
    process.stderr.write(`listening on ${o.socket}\n`);
    const stop = new Promise<void>((resolve) => {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
    });
    await Promise.race([server.serve(), stop]);
  } finally {
    if (server) {
      log(server.summary());
      await server.close();
    } else link.close();
  }
}
