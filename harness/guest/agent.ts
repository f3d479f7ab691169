// Host side of the guest agent, over the virtio-serial port (a unix socket QEMU connects to).
// Requests carry ids; replies may arrive in any order. Lines that are not frames are ignored.
// Every wait is bounded and fails with a TimeoutError naming what was awaited; when QEMU dies,
// every pending call fails at once with the reason (exit status and the console's last lines).
import type net from 'node:net';
import { TimeoutError } from '../core/errors.ts';
import { encodeRequest, FrameParser, type Frame, type Op } from './protocol.ts';
import type { AgentResult, GuestAgent } from './types.ts';

export interface ReadyInfo {
  nic: string;
  cidr: string;
  /** Guest uptime when the agent reported READY (kernel start to ready, in guest time). */
  uptimeS: number;
}

interface Pending {
  what: string;
  resolve: (r: AgentResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class AgentError extends Error {
  override readonly name = 'AgentError';
}

/** Where a spawned process's output goes in the guest (see do_spawn in rootfs/agent.sh). */
export function spawnOutput(pid: number): { stdout: string; stderr: string } {
  return { stdout: `/run/vnb/p${pid}.out`, stderr: `/run/vnb/p${pid}.err` };
}

export class AgentClient implements GuestAgent {
  private readonly parser = new FrameParser();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private deadWith?: Error;
  private ready?: ReadyInfo;
  private bringUpFailed?: Error;
  private readyWaiters: { resolve: (r: ReadyInfo) => void; reject: (e: Error) => void }[] = [];

  constructor(
    private readonly sock: net.Socket,
    private readonly opts: {
      defaultTimeoutMs?: number;
      /** Extra detail for a READY timeout (the console's last lines). */
      context?: () => string;
      /**
       * Why the channel closed, when the owner can tell (QEMU exited, and how). The socket's
       * reset usually arrives before the process's exit status, so this may wait briefly.
       */
      explainClose?: () => Promise<string | undefined>;
    } = {},
  ) {
    sock.on('data', (d: Buffer) => this.onFrames(this.parser.push(d)));
    sock.on('close', () => void this.channelLost('agent channel closed'));
    sock.on('error', (e) => void this.channelLost(`agent channel error: ${e.message}`));
  }

  private async channelLost(what: string): Promise<void> {
    if (this.deadWith) return;
    const why = await this.opts.explainClose?.().catch(() => undefined);
    this.fail(new AgentError(why ?? what));
  }

  /** Wait for READY (NIC up and addressed). A FAIL from the guest rejects with its message. */
  waitReady(timeoutMs: number): Promise<ReadyInfo> {
    if (this.ready) return Promise.resolve(this.ready);
    if (this.bringUpFailed) return Promise.reject(this.bringUpFailed);
    if (this.deadWith) return Promise.reject(this.deadWith);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w.resolve !== ok);
        reject(new TimeoutError('the guest agent to report READY', timeoutMs, this.context()));
      }, timeoutMs);
      const ok = (r: ReadyInfo): void => {
        clearTimeout(timer);
        resolve(r);
      };
      this.readyWaiters.push({
        resolve: ok,
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  async exec(argv: string[], opts: { timeoutMs?: number } = {}): Promise<AgentResult> {
    if (argv.length === 0) throw new Error('agent exec: empty argv');
    const timeoutMs = opts.timeoutMs ?? this.opts.defaultTimeoutMs ?? 30_000;
    return this.request('exec', argv, timeoutMs, `guest command ${JSON.stringify(argv)}`);
  }

  async spawn(argv: string[], opts: { timeoutMs?: number } = {}): Promise<number> {
    if (argv.length === 0) throw new Error('agent spawn: empty argv');
    const r = await this.request('spawn', argv, opts.timeoutMs ?? 10_000, `guest spawn of ${JSON.stringify(argv)}`);
    const pid = Number.parseInt(r.stdout.trim(), 10);
    if (!Number.isInteger(pid) || pid <= 0) throw new AgentError(`guest spawn of ${argv[0]} returned no pid: ${JSON.stringify(r)}`);
    return pid;
  }

  async readFile(path: string, opts: { timeoutMs?: number } = {}): Promise<string> {
    const r = await this.request('read', [path], opts.timeoutMs ?? 10_000, `guest file ${path}`);
    if (r.code !== 0) throw new AgentError(`reading ${path} in the guest failed (exit ${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Round trip with no work in the guest (for latency checks). */
  async ping(timeoutMs = 5000): Promise<void> {
    await this.request('ping', [], timeoutMs, 'agent ping');
  }

  /** Every later call fails with `err`; pending ones fail now. */
  fail(err: Error): void {
    if (this.deadWith) return;
    this.deadWith = err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new AgentError(`${p.what}: ${err.message}`));
    }
    this.pending.clear();
    for (const w of this.readyWaiters) w.reject(err);
    this.readyWaiters = [];
  }

  close(): void {
    this.fail(new AgentError('agent closed'));
    this.sock.destroy();
  }

  /** Lines on the channel that were not frames (diagnostics). */
  noise(): { count: number; recent: string[] } {
    return { count: this.parser.noiseLines, recent: [...this.parser.recentNoise] };
  }

  private context(): string {
    return this.opts.context?.() ?? '';
  }

  private request(op: Op, args: string[], timeoutMs: number, what: string): Promise<AgentResult> {
    if (this.deadWith) return Promise.reject(new AgentError(`${what}: ${this.deadWith.message}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        // Stop the command in the guest too; its reply, if it ever comes, is ignored.
        if (op === 'exec' && !this.deadWith) this.sock.write(encodeRequest(this.nextId++, 'cancel', [String(id)]));
        reject(new TimeoutError(what, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { what, resolve, reject, timer });
      this.sock.write(encodeRequest(id, op, args));
    });
  }

  private onFrames(frames: Frame[]): void {
    for (const f of frames) {
      switch (f.kind) {
        case 'ready':
          this.ready = { nic: f.nic, cidr: f.cidr, uptimeS: f.uptimeS };
          for (const w of this.readyWaiters) w.resolve(this.ready);
          this.readyWaiters = [];
          break;
        case 'fail': {
          const err = new AgentError(`guest bring-up failed: ${f.message}`);
          this.bringUpFailed = err;
          for (const w of this.readyWaiters) w.reject(err);
          this.readyWaiters = [];
          break;
        }
        case 'result': {
          const p = this.pending.get(f.id);
          if (!p) break; // a reply to a request that already timed out
          this.pending.delete(f.id);
          clearTimeout(p.timer);
          p.resolve({ code: f.code, stdout: f.stdout, stderr: f.stderr });
          break;
        }
      }
    }
  }
}
