// A vhost-user device someone else runs, named by its socket: sessions only. No far end (frame
// checks skip), no restart; a refused connect means it is gone.
import fs from 'node:fs';
import { UsageError } from '../core/errors.ts';
import { VhostUserFrontend } from '../vhost/vhost-user-frontend.ts';
import type { Support } from '../vhost/session.ts';
import { memfdRigMemory, type ConformDut, type RigMemory } from './dut.ts';
import type { ControlSession } from './types.ts';

export class UserSocketDut implements ConformDut {
  readonly transport = 'vhost-user' as const;
  readonly wire = undefined;
  readonly noWire = 'the suite does not own the far end of a user-named vhost-user device (no frames can be injected or captured)';
  readonly unavailable = undefined;
  readonly restarts = 0;
  readonly versions = {};
  readonly name: string;
  readonly label: string;

  private constructor(
    private readonly sock: string,
    readonly offered: bigint,
    readonly queuePairs: number,
  ) {
    this.name = `vhost-user:${sock}`;
    this.label = `vhost-user device at ${sock} (not managed by the suite)`;
  }

  static async open(sock: string): Promise<UserSocketDut> {
    if (!fs.existsSync(sock)) throw new UsageError(`--dut vhost-user:${sock}: no such file`, 'start the device first and give the path of its listening socket');
    if (!isSocket(sock)) throw new UsageError(`--dut vhost-user:${sock}: not a unix socket`, "give the path of the device's listening socket");
    const s = VhostUserFrontend.connect(sock, { replyTimeoutMs: 3000 });
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
      return new UserSocketDut(sock, offered, pairs);
    } finally {
      await s.close();
    }
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
  async close(): Promise<void> {}
}

function isSocket(p: string): boolean {
  try {
    return fs.statSync(p).isSocket();
  } catch {
    return false;
  }
}
