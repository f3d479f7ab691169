// The vhost-user front-end (driver side): connects to a device's socket and speaks the control
// protocol of qemu docs/interop/vhost-user.rst. One request is in flight at a time (replies carry
// no id, so order is the only match). With REPLY_ACK negotiated, every request without its own
// reply is sent with NEED_REPLY and its u64 status is checked, so a refusal surfaces at the
// request that caused it. Every wait has a deadline and says what it waited for.
import { VhostUserChannel, PeerClosedError } from './vhost-user-channel.ts';
import {
  ProtocolFeature,
  VhostUserProtocolError,
  encodeRequest,
  decodeReply,
  describePayload,
  hasOwnReply,
  type RequestName,
  type RequestPayload,
  type ReplyPayload,
} from './vhost-user-codec.ts';
import {
  Transcript,
  DeviceRejectedError,
  NotExpressibleError,
  ringUserAddresses,
  type DeviceSession,
  type Exchange,
  type RingAddresses,
  type SessionOp,
  type Support,
} from './session.ts';
import type { GuestMemory } from '../virtio/memory.ts';
import { F, has } from '../virtio/features.ts';
import { closeQuiet } from '../sys/libc.ts';

export interface FrontendOptions {
  /** Deadline for each reply (default 3000 ms). */
  replyTimeoutMs?: number;
  /**
   * NEED_REPLY on requests without their own reply once REPLY_ACK is negotiated (default true).
   * Tests that probe a device's handling of un-acked requests turn it off.
   */
  useReplyAck?: boolean;
}

export interface CallOptions {
  fds?: readonly number[];
  /** Override the automatic NEED_REPLY decision. */
  needReply?: boolean;
  /** Extra header flag bits (adversarial tests). */
  extraFlags?: number;
}

const bit = (b: number) => 1n << BigInt(b);

export class VhostUserFrontend implements DeviceSession {
  readonly transport = 'vhost-user' as const;
  private readonly log = new Transcript();
  private queue: Promise<unknown> = Promise.resolve();
  private dead: Error | undefined;
  private protocolAcked = 0n;
  private featuresAcked: bigint | undefined;
  private memory: GuestMemory | undefined;
  private readonly replyTimeoutMs: number;
  private readonly useReplyAck: boolean;

  private constructor(
    private readonly channel: VhostUserChannel,
    opts: FrontendOptions,
  ) {
    this.replyTimeoutMs = opts.replyTimeoutMs ?? 3000;
    this.useReplyAck = opts.useReplyAck ?? true;
  }

  /** Connect to a device listening on `path`. */
  static connect(path: string, opts: FrontendOptions = {}): VhostUserFrontend {
    return new VhostUserFrontend(VhostUserChannel.connect(path), opts);
  }

  /** Wrap an already-connected socket fd (for instance one end of a socketpair). */
  static fromFd(fd: number, label: string, opts: FrontendOptions = {}): VhostUserFrontend {
    return new VhostUserFrontend(new VhostUserChannel(fd, label), opts);
  }

  get label(): string {
    return this.channel.label;
  }
  get transcript(): readonly Exchange[] {
    return this.log.entries;
  }
  /** Protocol features acknowledged with SET_PROTOCOL_FEATURES. */
  get protocolFeatures(): bigint {
    return this.protocolAcked;
  }
  /** Features acknowledged with SET_FEATURES (undefined before). */
  get ackedFeatures(): bigint | undefined {
    return this.featuresAcked;
  }
  /** The error that ended the connection, if it has ended. */
  get failure(): Error | undefined {
    return this.dead;
  }

  private hasProtocol(b: number): boolean {
    return (this.protocolAcked & bit(b)) !== 0n;
  }

  supports(op: SessionOp): Support {
    const need = (b: number, name: string): Support =>
      this.hasProtocol(b) ? { ok: true } : { ok: false, reason: `protocol feature ${name} not negotiated` };
    switch (op) {
      case 'protocolFeatures':
        return { ok: true };
      case 'queueNum':
        return need(ProtocolFeature.MQ, 'MQ');
      case 'replyAck':
        return need(ProtocolFeature.REPLY_ACK, 'REPLY_ACK');
      case 'status':
        return need(ProtocolFeature.STATUS, 'STATUS');
      case 'resetDevice':
        return need(ProtocolFeature.RESET_DEVICE, 'RESET_DEVICE');
      case 'ringEnable':
        return this.featuresAcked !== undefined && !has(this.featuresAcked, F.VHOST_USER_F_PROTOCOL_FEATURES)
          ? { ok: false, reason: 'VHOST_USER_F_PROTOCOL_FEATURES (bit 30) not acked: rings start enabled' }
          : { ok: true };
    }
  }

  /**
   * Send one request and wait for what it produces: its own reply, the REPLY_ACK status, or
   * nothing. Returns the reply payload (or the ack u64, or undefined). Requests are serialised.
   */
  call<K extends RequestName>(name: K, payload: RequestPayload<K>, opts: CallOptions = {}): Promise<ReplyPayload<K> | undefined> {
    const run = () => this.exchange(name, payload, opts);
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async exchange<K extends RequestName>(
    name: K,
    payload: RequestPayload<K>,
    opts: CallOptions,
  ): Promise<ReplyPayload<K> | undefined> {
    const own = hasOwnReply(name);
    const needReply = opts.needReply ?? (!own && this.useReplyAck && this.hasProtocol(ProtocolFeature.REPLY_ACK));
    const fds = opts.fds ?? [];
    const bytes = encodeRequest({ name, payload, needReply, extraFlags: opts.extraFlags });
    return this.log.record(
      name,
      describePayload(payload),
      async (e) => {
        if (this.dead) throw this.dead;
        e.flags = new DataView(bytes.buffer).getUint32(4, true);
        e.fds = fds.length;
        e.wire = { sent: hex(bytes) };
        try {
          await this.channel.send(bytes, fds);
          if (!own && !needReply) return undefined;
          const m = await this.channel.receive(this.replyTimeoutMs, `the reply to ${name}`);
          e.wire.received = hex(m.wire);
          for (const f of m.fds) closeQuiet(f); // no reply we send needs an fd kept
          const reply = decodeReply(name, m.header, m.payload);
          if (!own && reply !== 0n) {
            throw new DeviceRejectedError(name, `REPLY_ACK status ${String(reply)}`, this.label);
          }
          return reply;
        } catch (err) {
          // A lost connection or a garbled stream ends the session: replies can no longer be matched.
          if (err instanceof PeerClosedError || err instanceof VhostUserProtocolError || isTimeout(err)) {
            this.dead ??= err as Error;
            this.channel.close();
          }
          throw err;
        }
      },
      describePayload,
    );
  }

  async getFeatures(): Promise<bigint> {
    return (await this.call('GET_FEATURES', null)) as bigint;
  }

  async setFeatures(features: bigint): Promise<void> {
    await this.call('SET_FEATURES', features);
    this.featuresAcked = features;
  }

  async getProtocolFeatures(): Promise<bigint> {
    return (await this.call('GET_PROTOCOL_FEATURES', null)) as bigint;
  }

  async setProtocolFeatures(bits: bigint): Promise<void> {
    // REPLY_ACK applies from the next request: this one goes without NEED_REPLY.
    await this.call('SET_PROTOCOL_FEATURES', bits, { needReply: false });
    this.protocolAcked = bits;
  }

  async getQueueNum(): Promise<number> {
    this.require('queueNum');
    return Number(await this.call('GET_QUEUE_NUM', null));
  }

  async setOwner(): Promise<void> {
    await this.call('SET_OWNER', null);
  }

  async setMemTable(mem: GuestMemory): Promise<void> {
    const regions = mem.regions.map((r, i) => {
      if (r.fd < 0) throw new Error(`SET_MEM_TABLE: region ${i} (GPA 0x${r.gpa.toString(16)}) has no memfd to share`);
      return { gpa: r.gpa, size: BigInt(r.size), uva: r.uva, mmapOffset: BigInt(r.mmapOffset) };
    });
    await this.call('SET_MEM_TABLE', { regions }, { fds: mem.regions.map((r) => r.fd) });
    this.memory = mem;
  }

  async setVringNum(index: number, num: number): Promise<void> {
    await this.call('SET_VRING_NUM', { index, num });
  }

  async setVringBase(index: number, base: number): Promise<void> {
    await this.call('SET_VRING_BASE', { index, num: base });
  }

  async setVringAddr(a: RingAddresses): Promise<void> {
    const u = ringUserAddresses(this.memory, a);
    await this.call('SET_VRING_ADDR', { index: a.index, flags: a.flags ?? 0, desc: u.desc, used: u.used, avail: u.avail, log: a.log ?? 0n });
  }

  async setVringKick(index: number, fd: number | null): Promise<void> {
    await this.call('SET_VRING_KICK', { index, noFd: fd === null }, { fds: fd === null ? [] : [fd] });
  }

  async setVringCall(index: number, fd: number | null): Promise<void> {
    await this.call('SET_VRING_CALL', { index, noFd: fd === null }, { fds: fd === null ? [] : [fd] });
  }

  async setVringErr(index: number, fd: number | null): Promise<void> {
    await this.call('SET_VRING_ERR', { index, noFd: fd === null }, { fds: fd === null ? [] : [fd] });
  }

  async setVringEnable(index: number, enable: boolean): Promise<void> {
    this.require('ringEnable');
    await this.call('SET_VRING_ENABLE', { index, num: enable ? 1 : 0 });
  }

  async getVringBase(index: number): Promise<number> {
    const r = (await this.call('GET_VRING_BASE', { index, num: 0 })) as { index: number; num: number };
    if (r.index !== index) {
      throw new VhostUserProtocolError(`reply to GET_VRING_BASE names ring ${r.index}, asked for ${index}`);
    }
    return r.num;
  }

  async setStatus(status: number): Promise<void> {
    this.require('status');
    await this.call('SET_STATUS', BigInt(status));
  }

  async getStatus(): Promise<number> {
    this.require('status');
    return Number(await this.call('GET_STATUS', null));
  }

  /** RESET_DEVICE when negotiated; otherwise RESET_OWNER, as QEMU does for older back-ends. */
  async reset(): Promise<string> {
    const name = this.hasProtocol(ProtocolFeature.RESET_DEVICE) ? 'RESET_DEVICE' : 'RESET_OWNER';
    await this.call(name, null);
    this.featuresAcked = undefined;
    return name;
  }

  async close(): Promise<void> {
    await this.queue;
    this.channel.close();
  }

  private require(op: SessionOp): void {
    const s = this.supports(op);
    if (!s.ok) throw new NotExpressibleError(op, s.reason);
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

function isTimeout(err: unknown): boolean {
  return (err as Error)?.name === 'TimeoutError';
}
