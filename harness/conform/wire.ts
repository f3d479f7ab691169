// The device's far end: where the suite injects frames toward the device's RX rings and captures
// what the device transmits. For testpmd and vhost-net it is an AF_PACKET socket on the probe end
// of a veth in the run's namespace (harness/vhost/frame-port.ts); for the in-process reference
// device it is the device's own inject() and TX sink.
import { TimeoutError } from '../core/errors.ts';
import { exec } from '../core/exec.ts';
import type { FramePort } from '../vhost/frame-port.ts';
import { inNetns } from '../sys/netns.ts';
import { packetSocket, PACKET_VNET_HDR, SOL_PACKET, type PacketSocket } from '../sys/packet.ts';
import { setsockoptInt } from '../sys/socket.ts';
import { encodeNetHdr, emptyNetHdr, type NetHdr } from '../virtio/net-header.ts';
import type { Rig } from './rig-types.ts';

/**
 * Offload metadata for an injected frame (a struct virtio_net_hdr as the kernel takes it with
 * PACKET_VNET_HDR): the frame enters the far end's stack with CHECKSUM_PARTIAL / GSO state, as a
 * frame from a local sender would.
 */
export type InjectOffload = Partial<Pick<NetHdr, 'flags' | 'gsoType' | 'gsoSize' | 'hdrLen' | 'csumStart' | 'csumOffset'>>;

export interface Wire {
  /** What the far end is (for evidence). */
  readonly describe: string;
  /** Told of every rig a check opens (the loopback wire works through the newest one). */
  bind?(rig: Rig): void;
  /** The wire writes into the check's own rings (loopback). */
  readonly sharesRings?: boolean;
  /** Whether inject() can carry offload metadata (partial checksums, GSO). */
  readonly offloads: boolean;
  inject(frame: Uint8Array, offload?: InjectOffload): void;
  /**
   * Let offloaded frames leave the injecting interface as they are (checksum partial, GSO unsplit)
   * instead of the kernel completing them in software; off again afterwards. No-op without offloads.
   */
  passOffloads(on: boolean): Promise<void>;
  /** The next captured frame satisfying `match`; TimeoutError after timeoutMs. */
  expect(match: (f: Uint8Array) => boolean, timeoutMs: number): Promise<Uint8Array>;
  /** Every frame captured within ms. */
  collect(ms: number): Promise<Uint8Array[]>;
  /** Forget frames captured so far. */
  drain(): void;
  close(): void;
}

/** The far end of a veth (or tap) in the run's namespace, through the DUT's frame port. */
export class FramePortWire implements Wire {
  readonly offloads = true;
  private offloadSock: PacketSocket | undefined;

  constructor(
    private readonly port: FramePort,
    readonly describe: string,
  ) {}

  inject(frame: Uint8Array, offload?: InjectOffload): void {
    if (!offload) return this.port.inject(frame);
    // A second socket on the same interface with PACKET_VNET_HDR: each write starts with a 10-byte
    // struct virtio_net_hdr that the kernel turns into skb checksum/GSO state.
    this.offloadSock ??= this.openOffloadSocket();
    const hdr = new Uint8Array(10);
    encodeNetHdr({ ...emptyNetHdr(), ...offload }, hdr, 10);
    const out = new Uint8Array(10 + frame.length);
    out.set(hdr, 0);
    out.set(frame, 10);
    this.offloadSock.send(out);
  }

  /** The interface's offload settings before passOffloads(true), restored by passOffloads(false). */
  private saved: string[] | undefined;

  async passOffloads(on: boolean): Promise<void> {
    // The injecting interface's TX offloads decide whether the kernel completes checksums and
    // segments before the frame crosses the link. What it had before is put back afterwards: the
    // interface may be the user's (--wire IFNAME).
    const nsArgs = this.port.ns ? ['ip', 'netns', 'exec', this.port.ns] : [];
    if (on) {
      const r = await exec([...nsArgs, 'ethtool', '-k', this.port.ifname], { nothrow: true });
      this.saved = offloadSettings(r.stdout);
      await exec([...nsArgs, 'ethtool', '-K', this.port.ifname, 'tx', 'on', 'sg', 'on', 'tso', 'on'], { nothrow: true });
    } else {
      const back = this.saved ?? ['tx', 'off', 'sg', 'off', 'tso', 'off'];
      this.saved = undefined;
      await exec([...nsArgs, 'ethtool', '-K', this.port.ifname, ...back], { nothrow: true });
    }
  }

  private openOffloadSocket(): PacketSocket {
    const s = inNetns(this.port.ns, () => packetSocket(this.port.ifname));
    try {
      setsockoptInt(s.fd, SOL_PACKET, PACKET_VNET_HDR, 1, 'PACKET_VNET_HDR');
    } catch (err) {
      s.close();
      throw err;
    }
    // Only used to send: frames it receives would carry a header, so they are never read here.
    return s;
  }

  expect(match: (f: Uint8Array) => boolean, timeoutMs: number): Promise<Uint8Array> {
    return this.port.expect(match, timeoutMs);
  }

  collect(ms: number): Promise<Uint8Array[]> {
    return this.port.collect(ms);
  }

  drain(): void {
    this.port.drain();
    this.offloadSock?.drain();
  }

  close(): void {
    this.offloadSock?.close();
    this.offloadSock = undefined;
  }
}

/** The first frame of `queue` that matches, taken off it; the ones before it are dropped and counted. */
export function shiftMatching(queue: Uint8Array[], match: (f: Uint8Array) => boolean, seen: { skipped: number }): Uint8Array | undefined {
  while (queue.length) {
    const f = queue.shift()!;
    if (match(f)) return f;
    seen.skipped++;
  }
  return undefined;
}

/** `ethtool -k` output → the `-K` arguments that restore tx, sg and tso as they were. */
export function offloadSettings(text: string): string[] {
  const names: [string, string][] = [
    ['tx', 'tx-checksumming'],
    ['sg', 'scatter-gather'],
    ['tso', 'tcp-segmentation-offload'],
  ];
  const out: string[] = [];
  for (const [short, long] of names) {
    const m = new RegExp(`^${long}: (on|off)`, 'm').exec(text);
    if (m) out.push(short, m[1]);
  }
  return out;
}

/** Frames the in-process device transmitted, with waiters; injection goes to the current device. */
export class InProcessWire implements Wire {
  readonly describe = 'in-process link (ReferenceNetDevice.inject / onTx)';
  readonly offloads = false;
  private frames: Uint8Array[] = [];
  private waiters = new Set<() => void>();

  constructor(private readonly deliver: (frame: Uint8Array) => void) {}

  /** The device's TX sink. */
  transmitted(frame: Uint8Array): void {
    this.frames.push(frame.slice());
    for (const w of [...this.waiters]) w();
  }

  inject(frame: Uint8Array, offload?: InjectOffload): void {
    if (offload) throw new Error('the in-process link carries no offload metadata (check wire.offloads first)');
    this.deliver(frame);
  }

  async passOffloads(): Promise<void> {}

  async expect(match: (f: Uint8Array) => boolean, timeoutMs: number): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    const seen = { skipped: 0 };
    for (;;) {
      const f = shiftMatching(this.frames, match, seen);
      if (f) return f;
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError('a matching frame from the in-process device', timeoutMs, `${seen.skipped} other frames seen`);
      await this.arrival(left);
    }
  }

  async collect(ms: number): Promise<Uint8Array[]> {
    await new Promise((r) => setTimeout(r, ms));
    const out = this.frames;
    this.frames = [];
    return out;
  }

  drain(): void {
    this.frames = [];
  }

  close(): void {
    this.frames = [];
    for (const w of [...this.waiters]) w();
  }

  private arrival(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }
}
