// The aio-tap device as a process: the tap (or macvtap) queues, one data-plane Worker per queue
// pair, the vhost-user control plane, and a listening socket that serves one front-end at a time.
// A front-end that disconnects leaves the device reset and ready for the next (QEMU reconnects,
// the conformance suite opens session after session); a new connection while one is active
// replaces it, as a restarted front-end would.
import fs from 'node:fs';
import { VhostUserListener } from '../vhost/vhost-user-channel.ts';
import type { VhostUserDeviceConnection } from '../vhost/vhost-user-device-io.ts';
import { FrontEndSlot } from '../vhost/front-end-slot.ts';
import { AioVhostDevice } from './control/device.ts';
import { PairWorker } from './control/pair-worker.ts';
import { readStats, sumStats, type StatName } from './dataplane/stats.ts';
import { OFFERED_PROTOCOL, offeredFeatures } from './features.ts';
import type { TapPort } from './port.ts';
import type { EngineName } from './engines/types.ts';

export interface ServerOptions {
  socket: string;
  port: TapPort;
  engine: EngineName;
  batch: number;
  rxDepth: number;
  /** Log every front-end request with its payload. */
  verbose?: boolean;
  log: (message: string) => void;
}

export class AioServer {
  private slot: FrontEndSlot | undefined;
  private failure: ((e: Error) => void) | undefined;
  private fatal: Error | undefined;
  private closed = false;

  private constructor(
    private readonly o: ServerOptions,
    private readonly workers: PairWorker[],
    readonly device: AioVhostDevice,
    /** Virtio features offered to front-ends. */
    readonly offered: bigint,
  ) {}

  /** Start the data-plane Workers and listen on the socket (the caller recorded its path). */
  static async start(o: ServerOptions): Promise<AioServer> {
    const workers: PairWorker[] = [];
    let device: AioVhostDevice | undefined;
    let server: AioServer | undefined;
    const events = (pair: number) => ({
      onBroken: (ring: 0 | 1, e: { message: string; clause: string }) => device?.ringBroken(pair, ring, e.message, e.clause),
      onLog: (m: string) => o.log(m),
      onFatal: (m: string) => server?.die(new Error(m)),
    });
    try {
      for (let p = 0; p < o.port.fds.length; p++) {
        workers.push(
          await PairWorker.start(
            p,
            { pair: p, tapFd: o.port.fds[p]!, multiQueue: o.port.multiQueue, engine: o.engine, batch: o.batch, rxDepth: o.rxDepth, mtu: o.port.mtu },
            events(p),
          ),
        );
      }
    } catch (e) {
      await Promise.all(workers.map((w) => w.stop()));
      throw e;
    }
    const offered = offeredFeatures(o.port.offloads);
    device = new AioVhostDevice({
      pairs: workers.length,
      offered,
      offeredProtocol: OFFERED_PROTOCOL,
      workers,
      setTapOffloads: (flags) => o.port.setOffloads(flags),
      log: o.log,
      verbose: o.verbose ?? false,
    });
    server = new AioServer(o, workers, device, offered);
    server.slot = new FrontEndSlot(VhostUserListener.listen(o.socket), (conn) => server!.serveOne(conn), o.log);
    return server;
  }

  /** Serve front-ends until close(); rejects if a data plane dies. */
  serve(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.failure = reject;
      if (this.fatal) return reject(this.fatal);
      this.slot!.run().then(resolve, reject);
    });
  }

  private async serveOne(conn: VhostUserDeviceConnection): Promise<void> {
    try {
      await conn.serve(this.device.handlers, { onUnknown: this.device.onUnknown });
      this.o.log('front-end disconnected');
    } catch (e) {
      // A malformed message or a reply that cannot be sent ends this connection, not the device.
      this.o.log(`connection closed: ${(e as Error).message}`);
    } finally {
      conn.close();
      try {
        await this.device.disconnect();
      } catch (e) {
        this.die(e as Error);
      }
    }
  }

  /** Counters summed over the queue pairs. */
  stats(): Record<StatName, number> {
    return sumStats(this.workers.map((w) => readStats(w.stats)));
  }

  private die(e: Error): void {
    this.fatal ??= e;
    this.failure?.(e);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.slot?.close();
    await Promise.all(this.workers.map((w) => w.stop()));
    fs.rmSync(this.o.socket, { force: true });
  }
}
