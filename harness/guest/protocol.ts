// The agent wire format, one text line per message:
//
//   host -> guest   VNB1 <id> <op> <arg>... END          op: exec | spawn | read | cancel | ping
//   guest -> host   VNB1 R <id> <code> <stdout> <stderr> END
//                   VNB1 READY <nic> <ip/len> <uptime-s> END
//                   VNB1 FAIL <message> END
//
// Host-to-guest arguments are $'...' words with every byte outside a small safe set written as
// \xHH, so a field holds no space or newline and the guest's shell decodes it with `eval`
// alone (a base64 decode would cost a fork and an exec per argument under TCG). Guest-to-host
// fields are base64 ("-" stands for the empty string). A line counts only when it starts with
// the magic and ends with END: anything else on the channel (console noise, a torn line) is
// ignored, never half-parsed. The guest half is harness/guest/rootfs/agent.sh.

export const MAGIC = 'VNB1';

export type Op = 'exec' | 'spawn' | 'read' | 'cancel' | 'ping';

export type Frame =
  | { kind: 'result'; id: number; code: number; stdout: string; stderr: string }
  | { kind: 'ready'; nic: string; cidr: string; uptimeS: number }
  | { kind: 'fail'; message: string };

export function encodeField(s: string): string {
  return s === '' ? '-' : Buffer.from(s, 'utf8').toString('base64');
}

export function decodeField(f: string): string | undefined {
  if (f === '-') return '';
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(f) || f.length % 4 !== 0) return undefined;
  return Buffer.from(f, 'base64').toString('utf8');
}

const SAFE = /^[A-Za-z0-9._/=:,+@%^-]$/;

/** One argument as a $'...' word for the guest's shell: safe ASCII as is, other bytes as \xHH. */
export function shellField(s: string): string {
  if (s.includes('\0')) throw new Error('an agent argument cannot contain a NUL byte (argv strings end at NUL)');
  let out = "$'";
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && SAFE.test(c) ? c : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `${out}'`;
}

export function encodeRequest(id: number, op: Op, args: readonly string[]): string {
  if (!Number.isSafeInteger(id) || id < 0) throw new Error(`agent request id must be a non-negative integer, got ${id}`);
  return [MAGIC, String(id), op, ...args.map(shellField), 'END'].join(' ') + '\n';
}

/** Parse one complete line; undefined when it is not a well-formed frame. */
export function parseFrame(line: string): Frame | undefined {
  const f = line.replace(/\r$/, '').split(' ');
  if (f[0] !== MAGIC || f[f.length - 1] !== 'END') return undefined;
  switch (f[1]) {
    case 'R': {
      if (f.length !== 7 || !/^\d+$/.test(f[2]) || !/^\d+$/.test(f[3])) return undefined;
      const stdout = decodeField(f[4]);
      const stderr = decodeField(f[5]);
      if (stdout === undefined || stderr === undefined) return undefined;
      return { kind: 'result', id: Number(f[2]), code: Number(f[3]), stdout, stderr };
    }
    case 'READY': {
      if (f.length !== 6) return undefined;
      const [nic, cidr, up] = [decodeField(f[2]), decodeField(f[3]), decodeField(f[4])];
      if (nic === undefined || cidr === undefined || up === undefined) return undefined;
      return { kind: 'ready', nic, cidr, uptimeS: Number.parseFloat(up) };
    }
    case 'FAIL': {
      if (f.length !== 4) return undefined;
      const message = decodeField(f[2]);
      return message === undefined ? undefined : { kind: 'fail', message };
    }
    default:
      return undefined;
  }
}

/**
 * Splits a byte stream into frames. Partial lines wait for their end; lines longer than
 * `maxLine` are dropped whole (the guest controls their length) and counted as noise.
 */
export class FrameParser {
  private buf = '';
  private dropping = false;
  noiseLines = 0;
  /** The last few non-frame lines, for error messages. */
  readonly recentNoise: string[] = [];

  constructor(private readonly maxLine = 64 * 1024 * 1024) {}

  push(chunk: string | Buffer): Frame[] {
    this.buf += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    const frames: Frame[] = [];
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (this.dropping) {
        this.dropping = false;
        continue;
      }
      const frame = parseFrame(line);
      if (frame) frames.push(frame);
      else this.noise(line);
    }
    if (this.buf.length > this.maxLine) {
      this.noise(`${this.buf.slice(0, 80)}... (${this.buf.length} bytes without a newline, dropped)`);
      this.buf = '';
      this.dropping = true;
    }
    return frames;
  }

  private noise(line: string): void {
    if (line.trim() === '') return;
    this.noiseLines++;
    this.recentNoise.push(line.length > 200 ? `${line.slice(0, 200)}...` : line);
    if (this.recentNoise.length > 5) this.recentNoise.shift();
  }
}
