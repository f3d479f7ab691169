// A QMP client (QEMU Machine Protocol: JSON objects, one per line). QEMU connects to our unix
// socket at start-up (-chardev socket,...,server=off + -mon mode=control); we answer the greeting
// with qmp_capabilities and then send commands with ids. Every wait is bounded.
import type net from 'node:net';
import { TimeoutError } from '../core/errors.ts';

export interface QmpEvent {
  event: string;
  data?: unknown;
  timestamp?: { seconds: number; microseconds: number };
}

interface Pending {
  command: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class QmpError extends Error {
  override readonly name = 'QmpError';
  constructor(readonly command: string, readonly errorClass: string, desc: string) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`);
  }
}

export class QmpClient {
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private greetingSeen?: (v: unknown) => void;
  private readonly greeting: Promise<unknown>;
  private closedWith?: Error;
  readonly events: QmpEvent[] = [];
  private readonly maxLine = 16 * 1024 * 1024;
  private onClose?: (e: Error) => void;

  constructor(private readonly sock: net.Socket) {
    this.greeting = new Promise((resolve) => (this.greetingSeen = resolve));
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('close', () => this.failAll(new Error('QMP connection closed')));
    sock.on('error', (e) => this.failAll(new Error(`QMP socket error: ${e.message}`)));
  }

  /** Wait for QEMU's greeting and leave capabilities negotiation mode. */
  async handshake(timeoutMs = 10_000): Promise<{ version: string }> {
    if (this.closedWith) throw this.closedWith;
    let timer: NodeJS.Timeout | undefined;
    const greeting = await Promise.race([
      this.greeting,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError('the QMP greeting', timeoutMs)), timeoutMs);
        this.onClose = reject;
      }),
    ]).finally(() => clearTimeout(timer));
    await this.execute('qmp_capabilities', undefined, timeoutMs);
    const q = (greeting as { QMP?: { version?: { qemu?: { major: number; minor: number; micro: number } } } }).QMP;
    const v = q?.version?.qemu;
    return { version: v ? `${v.major}.${v.minor}.${v.micro}` : 'unknown' };
  }

  execute(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<unknown> {
    if (this.closedWith) return Promise.reject(new Error(`QMP ${command}: ${this.closedWith.message}`));
    const id = `vnb-${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TimeoutError(`QMP ${command}`, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { command, resolve, reject, timer });
      this.sock.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line) this.onMessage(line);
    }
    if (this.buf.length > this.maxLine) this.buf = ''; // QEMU never sends this; do not grow without bound
  }

  private onMessage(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if ('QMP' in msg) {
      this.greetingSeen?.(msg);
      return;
    }
    if (typeof msg.event === 'string') {
      this.events.push(msg as unknown as QmpEvent);
      if (this.events.length > 1000) this.events.shift();
      return;
    }
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    const p = id ? this.pending.get(id) : undefined;
    if (!p || !id) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if ('error' in msg) {
      const e = msg.error as { class?: string; desc?: string };
      p.reject(new QmpError(p.command, e.class ?? 'GenericError', e.desc ?? 'no description'));
    } else {
      p.resolve(msg.return);
    }
  }

  private failAll(err: Error): void {
    if (this.closedWith) return;
    this.closedWith = err;
    this.onClose?.(err);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error(`QMP ${p.command}: ${err.message}`));
    }
    this.pending.clear();
  }
}
