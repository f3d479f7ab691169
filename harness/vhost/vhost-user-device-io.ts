// The device (back-end) side of the vhost-user control channel: receive and decode front-end
// requests, send own replies and REPLY_ACK answers. A device supplies one handler per request in
// a `DeviceHandlers` table — a mapped type over the message union, so a request without a handler
// is a compile error — and `serve` runs the loop. It assumes no event loop beyond promises, like
// QEMU's libvhost-user: the caller decides when to call `next()` or `serve()`.
import { VhostUserChannel, VhostUserListener, PeerClosedError, FdClosedError } from './vhost-user-channel.ts';
import {
  FLAG_NEED_REPLY,
  decodeRequest,
  encodeReply,
  encodeAck,
  hasOwnReply,
  type RequestMessage,
  type RequestName,
  type ReplyPayload,
  type UnknownMessage,
  type Messages,
} from './vhost-user-codec.ts';
import os from 'node:os';
import { closeQuiet } from '../sys/libc.ts';

export type RequestOf<K extends RequestName> = Extract<RequestMessage, { name: K }>;

/** Requests that always get their own reply (GET_*, IOTLB_MSG, POSTCOPY_*). */
type OwnReplyName = { [K in RequestName]: Messages[K]['reply'] extends 'ack' ? never : K }[RequestName];

/**
 * What a handler returns: for requests with their own reply, that reply's payload (with fds for
 * GET_INFLIGHT_FD / POSTCOPY_ADVISE); for the others nothing — throwing marks the request failed
 * (REPLY_ACK status 1 when the front-end asked for an ack).
 */
export type HandlerResult<K extends RequestName> = K extends OwnReplyName
  ? ReplyPayload<K> | { payload: ReplyPayload<K>; fds: number[] }
  : void;

export type DeviceHandlers = {
  [K in RequestName]: (m: RequestOf<K>) => Promise<HandlerResult<K>> | HandlerResult<K>;
};

export class VhostUserDeviceConnection {
  constructor(readonly channel: VhostUserChannel) {}

  /** Accept one front-end on a listening socket. */
  static async accept(listener: VhostUserListener, timeoutMs: number): Promise<VhostUserDeviceConnection> {
    return new VhostUserDeviceConnection(await listener.accept(timeoutMs));
  }

  /** The next request, decoded; its fds are the caller's to keep or close. */
  async next(timeoutMs: number): Promise<RequestMessage | UnknownMessage> {
    const m = await this.channel.receive(timeoutMs, 'a front-end request');
    try {
      return decodeRequest(m.header, m.payload, m.fds);
    } catch (err) {
      for (const f of m.fds) closeQuiet(f);
      throw err;
    }
  }

  /** Send the own reply of a GET_* style request. */
  async reply<K extends RequestName>(name: K, payload: ReplyPayload<K>, fds: number[] = []): Promise<void> {
    await this.channel.send(encodeReply(name, payload), fds);
  }

  /** Send the REPLY_ACK status when the request carried NEED_REPLY (0n = success). */
  async ackIfAsked(m: RequestMessage | UnknownMessage, status: bigint): Promise<void> {
    if (m.name === 'UNKNOWN') {
      if (m.flags & FLAG_NEED_REPLY) await this.channel.send(encodeAckForCode(m.code, status));
      return;
    }
    if (!hasOwnReply(m.name) && m.flags & FLAG_NEED_REPLY) await this.channel.send(encodeAck(m.name, status));
  }

  /**
   * Handle requests until the front-end disconnects (resolves) or a handler's failure cannot be
   * reported (rejects). `onUnknown` sees requests this codec does not know; by default they fail.
   */
  async serve(handlers: DeviceHandlers, opts: { idleTimeoutMs?: number; onUnknown?: (m: UnknownMessage) => void } = {}): Promise<void> {
    for (;;) {
      let m: RequestMessage | UnknownMessage;
      try {
        m = await this.next(opts.idleTimeoutMs ?? 2 ** 31 - 1);
      } catch (err) {
        // The front-end hung up, or we closed the connection ourselves.
        if (err instanceof PeerClosedError || err instanceof FdClosedError) return;
        throw err;
      }
      await this.dispatch(m, handlers, opts.onUnknown);
    }
  }

  private async dispatch(m: RequestMessage | UnknownMessage, handlers: DeviceHandlers, onUnknown?: (m: UnknownMessage) => void): Promise<void> {
    if (m.name === 'UNKNOWN') {
      onUnknown?.(m);
      await this.ackIfAsked(m, 1n);
      return;
    }
    const handler = handlers[m.name] as (x: RequestMessage) => Promise<unknown> | unknown;
    let result: unknown;
    try {
      result = await handler(m);
    } catch (err) {
      // A request with its own reply cannot say "failed" in-band; the connection is the only signal.
      if (hasOwnReply(m.name)) throw err;
      await this.ackIfAsked(m, 1n);
      return;
    }
    if (hasOwnReply(m.name)) {
      const r = result as { payload?: unknown; fds?: number[] };
      const withFds = r !== null && typeof r === 'object' && 'fds' in r && 'payload' in r;
      await this.reply(m.name, (withFds ? r.payload : result) as never, withFds ? r.fds : []);
    } else {
      await this.ackIfAsked(m, 0n);
    }
  }

  close(): void {
    this.channel.close();
  }
}

/** REPLY_ACK for a request code the codec does not know (same layout as any ack). */
function encodeAckForCode(code: number, status: bigint): Uint8Array {
  const b = encodeAck('SET_OWNER', status);
  new DataView(b.buffer).setUint32(0, code, os.endianness() === 'LE');
  return b;
}
