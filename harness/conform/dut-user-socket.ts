// A vhost-user device someone else runs, named by its socket: sessions only, no restart; a refused
// connect means it is gone. Its far end is what the user names: `--wire loopback` (the device
// reflects TX into RX) or `--wire IFNAME [--wire-netns NS]` (the interface it is attached to).
// A named wire is proven by probe frames both ways before any check relies on it; with none named,
// a probe that comes back into RX reveals a loopback wire.
import fs from 'node:fs';
import { UsageError } from '../core/errors.ts';
import { VhostUserFrontend } from '../vhost/vhost-user-frontend.ts';
import { openFramePort } from '../vhost/frame-port.ts';
import type { Support } from '../vhost/session.ts';
import { memfdRigMemory, type ConformDut, type RigMemory, type WireSpec } from './dut.ts';
import type { ControlSession } from './types.ts';
import { FramePortWire, type Wire } from './wire.ts';
import { LoopbackWire } from './wire-loopback.ts';
import { detectLoopback, verifyWire } from './wire-probe.ts';

export class UserSocketDut implements ConformDut {
  readonly transport = 'vhost-user' as const;
  readonly unavailable = undefined;
  readonly restarts = 0;
  readonly versions = {};
  readonly name: string;
  readonly label: string;
  wire: Wire | undefined;
  noWire: string | undefined = 'no wire named (--wire loopback or --wire IFNAME)';
  /** How the wire was established (probe outcome), for the manifest. */
  wireNote = 'none';
  startFindings: ConformDut['startFindings'];

  private constructor(
    private readonly sock: string,
    readonly offered: bigint,
    readonly queuePairs: number,
  ) {
    this.name = `vhost-user:${sock}`;
    this.label = `vhost-user device at ${sock} (not managed by the suite)`;
  }

  static async open(sock: string, wire?: WireSpec): Promise<UserSocketDut> {
    if (!fs.existsSync(sock)) throw new UsageError(`--dut vhost-user:${sock}: no such file`, 'start the device first and give the path of its listening socket');
    if (!isSocket(sock)) throw new UsageError(`--dut vhost-user:${sock}: not a unix socket`, "give the path of the device's listening socket");
    const s = VhostUserFrontend.connect(sock, { replyTimeoutMs: 3000 });
    let dut: UserSocketDut;
    try {
      const offered = await s.getFeatures();
      let pairs = 1;
      if ((offered & (1n << 30n)) !== 0n) {
        const proto = await s.getProtocolFeatures();
        if (proto & 1n) {
          await s.setProtocolFeatures(proto & 1n);
          pairs = Math.max(1, await s.getQueueNum());
        }
      }
      dut = new UserSocketDut(sock, offered, pairs);
    } finally {
      await s.close();
    }
    await dut.establishWire(wire);
    return dut;
  }

  /** Open and prove the named wire, or look for a loopback one. */
  private async establishWire(spec: WireSpec | undefined): Promise<void> {
    if (!spec) {
      const lb = new LoopbackWire();
      const r = await detectLoopback(this, lb);
      this.startFindings = { label: 'wire probe', findings: r.findings, t0: r.t0 };
      if (r.ok) {
        this.wire = lb;
        this.noWire = undefined;
      } else {
        this.noWire = `${r.detail}; name one with --wire loopback or --wire IFNAME [--wire-netns NS]`;
      }
      this.wireNote = r.detail;
      return;
    }
    const named = spec.kind === 'loopback' ? '--wire loopback' : `--wire ${spec.ifname}${spec.netns ? ` --wire-netns ${spec.netns}` : ''}`;
    const wire = spec.kind === 'loopback' ? new LoopbackWire() : interfaceWire(spec.ifname, spec.netns, named);
    const r = await verifyWire(this, wire);
    this.startFindings = { label: 'wire probe', findings: r.findings, t0: r.t0 };
    if (!r.ok) {
      wire.close();
      throw new UsageError(
        `${named}: the probe failed: ${r.detail}`,
        spec.kind === 'loopback' ? 'use --wire loopback only for a device that reflects what it transmits into its own RX' : 'name the interface the device is attached to (a tap or the far end of its link), and its namespace with --wire-netns',
      );
    }
    this.wire = wire;
    this.noWire = undefined;
    this.wireNote = r.detail;
  }

  /** Set once a connect is refused: the socket file outlived its listener (a crashed device). */
  private refused: string | undefined;

  async connect(): Promise<ControlSession> {
    try {
      return VhostUserFrontend.connect(this.sock, { replyTimeoutMs: 2000 });
    } catch (err) {
      if (/ECONNREFUSED/.test((err as Error).message)) this.refused = (err as Error).message;
      throw err;
    }
  }
  async attach(): Promise<void> {}
  memory(bytes: number): RigMemory {
    return memfdRigMemory(bytes);
  }
  async ensurePairs(n: number): Promise<Support> {
    return n <= this.queuePairs ? { ok: true } : { ok: false, reason: `the device reports ${this.queuePairs} queue pair(s) (GET_QUEUE_NUM)` };
  }
  alive(): boolean {
    return isSocket(this.sock) && this.refused === undefined;
  }
  deathNote(): string {
    if (!isSocket(this.sock)) return `socket ${this.sock} is gone`;
    return this.refused ? `nothing listens on ${this.sock} any more (${this.refused})` : 'listening';
  }
  async close(): Promise<void> {
    this.wire?.close();
  }
}

/** An AF_PACKET socket on the user's interface; a missing interface is the user's to fix. */
function interfaceWire(ifname: string, netns: string | undefined, named: string): Wire {
  try {
    return new FramePortWire(openFramePort(netns ?? '', ifname), `${ifname}${netns ? ` in netns ${netns}` : ''} (AF_PACKET)`);
  } catch (err) {
    throw new UsageError(`${named}: cannot open a packet socket on ${ifname}: ${(err as Error).message}`, `check the name with \`ip ${netns ? `-n ${netns} ` : ''}link\``);
  }
}

function isSocket(p: string): boolean {
  try {
    return fs.statSync(p).isSocket();
  } catch {
    return false;
  }
}
