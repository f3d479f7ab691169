// `vnetbench backend aio-tap` options, checked before anything is created: a bad value is a
// UsageError (exit 2) that says what, where and how to fix it, and the host is left untouched.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors.ts';
import { ENGINE_NAMES, type EngineName } from './engines/types.ts';

export interface AioOptions {
  socket: string;
  device: { kind: 'tap'; name: string } | { kind: 'macvtap'; name: string; node?: string };
  engine: EngineName;
  /** TX writes in flight per queue pair (and the most per submit). */
  batch: number;
  queues: number;
  /** RX reads kept posted per queue pair. */
  rxDepth: number;
  verbose: boolean;
  /** Print counters every N seconds (0: only at exit). */
  statsInterval: number;
}

export interface RawAioFlags {
  socket?: string;
  tap?: string;
  macvtap?: string;
  macvtapNode?: string;
  engine?: string;
  batch?: string;
  queues?: string;
  rxDepth?: string;
  verbose?: boolean;
  statsInterval?: string;
}

const IFNAME = /^[A-Za-z0-9_.:-]{1,15}$/;
const SUN_PATH_MAX = 107;

function int(flag: string, text: string | undefined, dflt: number, min: number, max: number): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a whole number from ${min} to ${max}`);
  }
  return n;
}

/** --socket, resolved to an absolute path: short enough for sun_path, no comma (QEMU -chardev), in an existing directory, nothing there yet. */
export function checkSocket(p: string | undefined, example = '/tmp/aio.sock'): string {
  if (!p) throw new UsageError('--socket is required', `e.g. --socket ${example} (QEMU connects to it with -chardev socket,path=...)`);
  const abs = path.resolve(p);
  if (Buffer.byteLength(abs) > SUN_PATH_MAX) throw new UsageError(`--socket ${abs}: ${Buffer.byteLength(abs)} bytes, a unix socket path holds at most ${SUN_PATH_MAX}`, 'use a shorter path, e.g. under /tmp');
  if (abs.includes(',')) throw new UsageError(`--socket ${abs}: contains a comma, which QEMU's -chardev cannot express`, 'choose a path without commas');
  const dir = path.dirname(abs);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`--socket ${abs}: directory ${dir} does not exist`, 'create it first or choose another path');
  if (fs.existsSync(abs)) throw new UsageError(`--socket ${abs}: something already exists at this path`, 'remove it if it is a stale socket, or choose another path');
  return abs;
}

export function parseAioOptions(f: RawAioFlags): AioOptions {
  if (Boolean(f.tap) === Boolean(f.macvtap)) {
    throw new UsageError('name exactly one of --tap IFNAME or --macvtap IFNAME', 'the device moves guest packets to and from that interface');
  }
  const name = (f.tap ?? f.macvtap)!;
  if (!IFNAME.test(name)) throw new UsageError(`--${f.tap ? 'tap' : 'macvtap'} ${JSON.stringify(name)}: not a Linux interface name (1-15 of A-Z a-z 0-9 _ . : -)`);
  if (f.macvtapNode && !f.macvtap) throw new UsageError('--macvtap-node applies to --macvtap only');
  if (f.macvtapNode && !fs.existsSync(f.macvtapNode)) throw new UsageError(`--macvtap-node ${f.macvtapNode}: no such file`);
  const engine = (f.engine ?? 'io_uring') as EngineName;
  if (!ENGINE_NAMES.includes(engine)) throw new UsageError(`--engine ${JSON.stringify(f.engine)}: unknown engine`, `use one of: ${ENGINE_NAMES.join(', ')}`);
  const batch = int('--batch', f.batch, 32, 1, 1024);
  return {
    socket: checkSocket(f.socket),
    device: f.tap ? { kind: 'tap', name } : { kind: 'macvtap', name, ...(f.macvtapNode ? { node: f.macvtapNode } : {}) },
    engine,
    batch,
    queues: int('--queues', f.queues, 1, 1, 16),
    rxDepth: int('--rx-depth', f.rxDepth, Math.min(batch, 16), 1, 256),
    verbose: Boolean(f.verbose),
    statsInterval: int('--stats-interval', f.statsInterval, 0, 0, 3600),
  };
}

/** argv for the backend process (used by the aio-tap and aio-macvtap backends). */
export function aioArgv(o: { socket: string; device: AioOptions['device']; engine: EngineName; batch: number; queues: number; statsInterval?: number; verbose?: boolean }): string[] {
  const dev = o.device.kind === 'tap' ? ['--tap', o.device.name] : ['--macvtap', o.device.name, ...(o.device.node ? ['--macvtap-node', o.device.node] : [])];
  return ['backend', 'aio-tap', '--socket', o.socket, ...dev, '--engine', o.engine, '--batch', String(o.batch), '--queues', String(o.queues), ...(o.statsInterval ? ['--stats-interval', String(o.statsInterval)] : []), ...(o.verbose ? ['--verbose'] : [])];
}
