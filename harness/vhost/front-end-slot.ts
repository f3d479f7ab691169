// One front-end at a time on a device's listening socket. A new connection while one is served
// replaces it, as a restarted front-end would (QEMU reconnects; the conformance suite opens
// session after session): the old connection is closed and its handler finished first.
import { TimeoutError } from '../core/errors.ts';
import { FdClosedError, type VhostUserListener } from './vhost-user-channel.ts';
import { VhostUserDeviceConnection } from './vhost-user-device-io.ts';

export class FrontEndSlot {
  private current: { conn: VhostUserDeviceConnection; done: Promise<void> } | undefined;
  private closed = false;

  constructor(
    private readonly listener: VhostUserListener,
    /** Serve one connection until it ends; must not reject (log and return instead). */
    private readonly serveOne: (conn: VhostUserDeviceConnection) => Promise<void>,
    private readonly log: (message: string) => void,
  ) {}

  /** Accept front-ends until close(); rejects only when accepting itself fails. */
  async run(): Promise<void> {
    for (;;) {
      let channel;
      try {
        channel = await this.listener.accept(24 * 3600 * 1000);
      } catch (e) {
        if (e instanceof TimeoutError) continue;
        if (e instanceof FdClosedError || this.closed) return;
        throw e;
      }
      if (this.current) {
        this.log('a new front-end connected: closing the previous connection');
        this.current.conn.close();
        await this.current.done;
      }
      const conn = new VhostUserDeviceConnection(channel);
      this.log('front-end connected');
      this.current = { conn, done: this.serveOne(conn) };
    }
  }

  /** Stop accepting, close the current connection, and wait for its handler to finish. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listener.close();
    this.current?.conn.close();
    await this.current?.done.catch(() => undefined);
  }
}
