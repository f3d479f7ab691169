// Whole vhost-user messages over a unix stream socket, for either side (front-end or device).
// A message is read as exactly its 12-byte header (whose first byte carries any SCM_RIGHTS fds),
// then exactly `size` payload bytes, so fds are never attributed to the wrong message and a read
// never crosses into the next one. Waits go through libuv (poll.ts), each with a deadline.
import { MsgBuffer, unixConnect, unixListen, unixAccept } from '../sys/socket.ts';
import { closeQuiet } from '../sys/libc.ts';
import { waitFd, cancelWaits, FdClosedError } from '../sys/poll.ts';
import { TimeoutError } from '../core/errors.ts';
import { HEADER_SIZE, MAX_PAYLOAD, decodeHeader, type Header } from './vhost-user-codec.ts';

export interface RawMessage {
  header: Header;
  payload: Uint8Array;
  fds: number[];
  /** The exact bytes received (header + payload), for evidence. */
  wire: Uint8Array;
}

/** The other side closed the socket (or reset it): a crashed or exited device shows up here. */
export class PeerClosedError extends Error {
  override readonly name = 'PeerClosedError';
}

export class VhostUserChannel {
  private readonly io = new MsgBuffer(HEADER_SIZE + MAX_PAYLOAD);
  private closed = false;

  constructor(
    readonly fd: number,
    /** Where this channel leads, for error messages ("/run/x.sock"). */
    readonly label: string,
  ) {}

  static connect(path: string): VhostUserChannel {
    return new VhostUserChannel(unixConnect(path), path);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Send one message; fds ride on its first byte. Resolves once every byte is queued. */
  async send(bytes: Uint8Array, fds: readonly number[] = [], timeoutMs = 5000): Promise<void> {
    this.assertOpen();
    const deadline = Date.now() + timeoutMs;
    let off = 0;
    let pendingFds = fds;
    while (off < bytes.length) {
      let n: number | null;
      try {
        n = this.io.send(this.fd, bytes.subarray(off), pendingFds);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'EPIPE' || code === 'ECONNRESET') throw new PeerClosedError(`${this.label}: peer closed the connection while we sent`);
        throw err;
      }
      if (n === null) {
        await waitFd(this.fd, { writable: true }, Math.max(1, deadline - Date.now()), `${this.label} to accept data`);
        continue;
      }
      off += n;
      pendingFds = []; // already attached to the first chunk
    }
  }

  /** Receive one whole message, waiting up to timeoutMs for all of it. */
  async receive(timeoutMs: number, what = 'a message'): Promise<RawMessage> {
    this.assertOpen();
    const deadline = Date.now() + timeoutMs;
    const fds: number[] = [];
    try {
      const head = await this.readExactly(HEADER_SIZE, deadline, what, fds);
      const header = decodeHeader(head);
      const payload = header.size > 0 ? await this.readExactly(header.size, deadline, what, fds) : new Uint8Array(0);
      const wire = new Uint8Array(HEADER_SIZE + payload.length);
      wire.set(head, 0);
      wire.set(payload, HEADER_SIZE);
      return { header, payload, fds, wire };
    } catch (err) {
      for (const f of fds) closeQuiet(f);
      throw err;
    }
  }

  private async readExactly(len: number, deadline: number, what: string, fds: number[]): Promise<Uint8Array> {
    const out = new Uint8Array(len);
    let got = 0;
    while (got < len) {
      let r;
      try {
        r = this.io.recv(this.fd, len - got);
      } catch (err) {
        if ((err as { code?: string }).code === 'ECONNRESET') throw new PeerClosedError(`${this.label}: connection reset while waiting for ${what}`);
        throw err;
      }
      if (r === null) {
        const left = deadline - Date.now();
        if (left <= 0) throw new TimeoutError(`${what} from ${this.label}`, 0);
        try {
          await waitFd(this.fd, { readable: true }, left, `${what} from ${this.label}`);
        } catch (err) {
          if (err instanceof TimeoutError) {
            throw new TimeoutError(`${what} from ${this.label}`, left, got ? `${got} of ${len} bytes arrived` : 'nothing arrived');
          }
          throw err;
        }
        continue;
      }
      fds.push(...r.fds);
      if (r.truncatedFds) throw new Error(`${this.label}: more than 8 fds arrived with one message (MSG_CTRUNC); they were dropped`);
      if (r.bytes.length === 0) throw new PeerClosedError(`${this.label}: peer closed the connection while we waited for ${what}`);
      out.set(r.bytes, got);
      got += r.bytes.length;
    }
    return out;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`${this.label}: channel already closed`);
  }

  /** Close the socket; a receive or send waiting on it rejects with FdClosedError. */
  close(): void {
    if (!this.closed) {
      this.closed = true;
      cancelWaits(this.fd);
      closeQuiet(this.fd);
    }
  }
}

export { FdClosedError };

/** Device side: listen on a socket path and accept front-end connections. */
export class VhostUserListener {
  private closed = false;
  private constructor(
    readonly fd: number,
    readonly path: string,
  ) {}

  /** The caller records `path` in the ledger before calling (the file is created here). */
  static listen(path: string): VhostUserListener {
    return new VhostUserListener(unixListen(path, 1), path);
  }

  async accept(timeoutMs: number): Promise<VhostUserChannel> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const fd = unixAccept(this.fd);
      if (fd !== null) return new VhostUserChannel(fd, `${this.path} (accepted)`);
      await waitFd(this.fd, { readable: true }, Math.max(1, deadline - Date.now()), `a front-end to connect to ${this.path}`);
    }
  }

  close(): void {
    if (!this.closed) {
      this.closed = true;
      cancelWaits(this.fd);
      closeQuiet(this.fd);
    }
  }
}
