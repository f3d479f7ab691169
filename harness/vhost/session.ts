// One device-session interface over both vhost transports (vhost-user and kernel vhost-net), so
// the conformance suite and the benchmarks drive a device the same way whatever carries the
// control messages. Every request and its response is appended to `transcript`, the evidence a
// failed check shows.
//
// Addresses: callers speak guest-physical addresses (what descriptors carry). The session
// translates ring addresses to the front-end user addresses the transport wants (vhost-user
// SET_VRING_ADDR, VHOST_SET_VRING_ADDR) through the memory table it was given, and refuses an
// address outside it unless the caller passes raw user addresses on purpose (adversarial tests).
import type { GuestMemory } from '../virtio/memory.ts';

export type Transport = 'vhost-user' | 'vhost-net';

/** One control exchange, JSON-safe (bigints and bytes as hex strings). */
export interface Exchange {
  seq: number;
  /** Milliseconds since the session opened. */
  atMs: number;
  /** Message or ioctl name: "SET_FEATURES", "VHOST_SET_VRING_ADDR". */
  op: string;
  request?: unknown;
  /** Header flags sent (vhost-user). */
  flags?: number;
  /** Number of fds passed with the request. */
  fds?: number;
  reply?: unknown;
  ok: boolean;
  error?: string;
  durationMs: number;
  /** Exact bytes, hex: what we sent and what came back (vhost-user). */
  wire?: { sent: string; received?: string };
}

/** Ring addresses as guest-physical addresses, translated through the memory table. */
export interface RingAddresses {
  index: number;
  desc: bigint;
  avail: bigint;
  used: bigint;
  /** vhost_vring_addr.flags (bit 0 VHOST_VRING_F_LOG). */
  flags?: number;
  log?: bigint;
  /** Send these user addresses verbatim instead of translating (tests of bad addresses). */
  rawUserAddresses?: { desc: bigint; avail: bigint; used: bigint };
}

/** Operations a transport may be unable to express. */
export type SessionOp = 'protocolFeatures' | 'queueNum' | 'ringEnable' | 'status' | 'replyAck' | 'resetDevice';

export type Support = { ok: true } | { ok: false; reason: string };

export interface DeviceSession {
  readonly transport: Transport;
  /** Where the device is: socket path or /dev/vhost-net. */
  readonly label: string;
  readonly transcript: readonly Exchange[];
  /** Whether an operation can be sent now (after negotiation), and why not. */
  supports(op: SessionOp): Support;

  getFeatures(): Promise<bigint>;
  setFeatures(features: bigint): Promise<void>;
  getProtocolFeatures(): Promise<bigint>;
  setProtocolFeatures(bits: bigint): Promise<void>;
  /** Maximum queues (vhost-user GET_QUEUE_NUM, needs protocol feature MQ). */
  getQueueNum(): Promise<number>;
  setOwner(): Promise<void>;
  setMemTable(mem: GuestMemory): Promise<void>;
  setVringNum(index: number, num: number): Promise<void>;
  setVringBase(index: number, base: number): Promise<void>;
  setVringAddr(addr: RingAddresses): Promise<void>;
  /** fd null: no fd (vhost-user bit 8, "poll instead"; kernel fd -1). */
  setVringKick(index: number, fd: number | null): Promise<void>;
  setVringCall(index: number, fd: number | null): Promise<void>;
  setVringErr(index: number, fd: number | null): Promise<void>;
  setVringEnable(index: number, enable: boolean): Promise<void>;
  /** Stops the ring and returns the device's next avail index (packed: wrap counter in bit 15). */
  getVringBase(index: number): Promise<number>;
  setStatus(status: number): Promise<void>;
  getStatus(): Promise<number>;
  /** Reset the device; returns the message or ioctl used. */
  reset(): Promise<string>;
  close(): Promise<void>;
}

/** The transport has no way to say this (vhost-net has no ring enable, no status...). */
export class NotExpressibleError extends Error {
  override readonly name = 'NotExpressibleError';
  constructor(
    readonly op: SessionOp | string,
    readonly reason: string,
  ) {
    super(`${op}: ${reason}`);
  }
}

/** The device answered a request with failure (REPLY_ACK non-zero, or an ioctl errno). */
export class DeviceRejectedError extends Error {
  override readonly name = 'DeviceRejectedError';
  constructor(
    readonly op: string,
    readonly status: string,
    label: string,
  ) {
    super(`${label}: device rejected ${op} (${status})`);
  }
}

/** Record-keeping shared by both transports. */
export class Transcript {
  readonly entries: Exchange[] = [];
  private readonly t0 = performance.now();

  async record<T>(
    op: string,
    request: unknown,
    run: (e: Exchange) => Promise<T>,
    describeReply: (r: T) => unknown = (r) => r,
  ): Promise<T> {
    const start = performance.now();
    const e: Exchange = { seq: this.entries.length, atMs: round(start - this.t0), op, request, ok: false, durationMs: 0 };
    this.entries.push(e);
    try {
      const r = await run(e);
      e.ok = true;
      if (r !== undefined) e.reply = describeReply(r);
      return r;
    } catch (err) {
      e.error = (err as Error).message;
      throw err;
    } finally {
      e.durationMs = round(performance.now() - start);
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** GPA → user address through the memory table, or a clear error naming the ring and field. */
export function ringUserAddresses(mem: GuestMemory | undefined, a: RingAddresses): { desc: bigint; avail: bigint; used: bigint } {
  if (a.rawUserAddresses) return a.rawUserAddresses;
  if (!mem) throw new Error(`ring ${a.index}: SET_VRING_ADDR before SET_MEM_TABLE (no table to translate addresses)`);
  const tr = (field: 'desc' | 'avail' | 'used') => {
    const uva = mem.gpaToUva(a[field]);
    if (uva === undefined) {
      throw new RangeError(`ring ${a.index}: ${field} GPA 0x${a[field].toString(16)} is outside the memory table`);
    }
    return uva;
  };
  return { desc: tr('desc'), avail: tr('avail'), used: tr('used') };
}
