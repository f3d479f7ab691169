// Devices under test for `vnetbench conform --dut ...`, one shape for all:
//   reference[:FAULT[@MODE]]  the in-process reference virtio-net device (or a deliberately broken
//                       one, its fault firing always, at the first opportunity, or after N)
//   testpmd             DPDK testpmd over vhost-user, started and stopped by the suite
//   vhost-user:/path    any vhost-user device already listening (not managed: no restart; the wire
//                       is what --wire names, or a loopback found by a probe)
//   vhost-net-tap       kernel vhost-net with a tap backend
//   vhost-net-raw       kernel vhost-net with an AF_PACKET raw socket backend
// Each gives control sessions, guest memory of the kind its transport needs, the far end of its
// link when the suite owns it, liveness, and restart when the suite owns its lifecycle.
import path from 'node:path';
import { UsageError } from '../core/errors.ts';
import type { Ledger } from '../core/ledger.ts';
import { memfdGuestMemory } from '../vhost/memfd-memory.ts';
import type { Support } from '../vhost/session.ts';
import { FAULT_SPEC_FORMS, faultSpecName, parseFaultSpec, type FaultSpec } from '../virtio/device/broken-net.ts';
import type { GuestMemory } from '../virtio/memory.ts';
import type { ConformTransport, ControlSession } from './types.ts';
import type { Wire } from './wire.ts';
import type { RingFinding } from './ring-watch.ts';

/** The far end of a user-named device: it reflects TX into RX, or an interface it is attached to. */
export type WireSpec = { kind: 'loopback' } | { kind: 'interface'; ifname: string; netns?: string };

export type ConformDutSpec =
  | { kind: 'reference'; fault?: FaultSpec }
  | { kind: 'testpmd' }
  | { kind: 'vhost-user'; path: string; wire?: WireSpec }
  | { kind: 'vhost-net'; backend: 'tap' | 'raw' };

export const DUT_FORMS = `testpmd, reference, reference:FAULT[@MODE] (${FAULT_SPEC_FORMS}), vhost-net-tap, vhost-net-raw, vhost-user:/path/to/socket`;

/** Parse --dut; UsageError saying what is wrong and listing the accepted forms. */
export function parseConformDut(text: string): ConformDutSpec {
  const bad = (why: string) => new UsageError(`--dut ${JSON.stringify(text)}: ${why}`, `accepted forms: ${DUT_FORMS}`);
  if (text === 'testpmd') return { kind: 'testpmd' };
  if (text === 'reference') return { kind: 'reference' };
  if (text === 'vhost-net-tap') return { kind: 'vhost-net', backend: 'tap' };
  if (text === 'vhost-net-raw') return { kind: 'vhost-net', backend: 'raw' };
  if (text.startsWith('reference:')) {
    try {
      return { kind: 'reference', fault: parseFaultSpec(text.slice('reference:'.length)) };
    } catch (err) {
      throw new UsageError(`--dut ${JSON.stringify(text)}: ${(err as Error).message}`, `accepted forms: ${DUT_FORMS}`);
    }
  }
  if (text.startsWith('vhost-user:')) {
    const p = text.slice('vhost-user:'.length);
    if (!p) throw bad('missing the socket path after "vhost-user:"');
    if (!path.isAbsolute(p)) throw bad(`socket path ${p} must be absolute`);
    return { kind: 'vhost-user', path: p };
  }
  throw bad(`unknown device "${text}"`);
}

/** The name a spec is shown under. */
export function dutName(s: ConformDutSpec): string {
  switch (s.kind) {
    case 'reference':
      return s.fault ? `reference:${faultSpecName(s.fault)}` : 'reference';
    case 'testpmd':
      return 'testpmd';
    case 'vhost-user':
      return `vhost-user:${s.path}`;
    case 'vhost-net':
      return `vhost-net-${s.backend}`;
  }
}

/** Guest memory shaped for a transport; close() releases its fd (the mapping goes with the GC). */
export interface RigMemory {
  memory: GuestMemory;
  close(): void;
}

export interface ConformDut {
  readonly name: string;
  readonly label: string;
  readonly transport: ConformTransport;
  /** The far end of the link; undefined when the suite does not own it (see noWire). */
  readonly wire: Wire | undefined;
  readonly noWire: string | undefined;
  /** How the wire was established or why there is none (probe outcome), for the manifest. */
  readonly wireNote?: string;
  /** What sessions before the first check saw (the wire probe): judged like a check's. */
  readonly startFindings?: { label: string; findings: readonly RingFinding[]; t0: number };
  /** When the device cannot be driven at all on this host (all checks skip with this). */
  readonly unavailable: string | undefined;
  /** Features the device offered at start. */
  readonly offered: bigint;
  /** Queue pairs the device serves right now. */
  readonly queuePairs: number;
  /** Starts of the device process (testpmd), for the report. */
  readonly restarts: number;
  readonly versions: Record<string, string>;
  /** How the device process was started, when the suite started it. */
  readonly commandLine?: string[];
  /** The device's own logs, for the run directory's logs/ (testpmd's output). */
  logs?(): { name: string; text: string }[];
  connect(): Promise<ControlSession>;
  /** After ring setup: attach packet backends (vhost-net). */
  attach(s: ControlSession, rings: number[]): Promise<void>;
  memory(bytes: number): RigMemory;
  /** Make at least n queue pairs available (testpmd is restarted with more queues). */
  ensurePairs(n: number): Promise<Support>;
  alive(): boolean;
  /** Why the device is dead (exit status, log tail), for evidence. */
  deathNote(): string;
  restart?(): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  ledger: Ledger;
  /** testpmd start-up deadline. */
  startTimeoutMs?: number;
}

/** Start (or reach) the device; the implementations are loaded on demand, one file each. */
export async function startConformDut(spec: ConformDutSpec, opts: StartOptions): Promise<ConformDut> {
  switch (spec.kind) {
    case 'reference':
      return new (await import('./dut-reference.ts')).ReferenceDut(spec.fault);
    case 'testpmd':
      return (await import('./dut-testpmd.ts')).TestpmdConformDut.start(opts);
    case 'vhost-user':
      return (await import('./dut-user-socket.ts')).UserSocketDut.open(spec.path, spec.wire);
    case 'vhost-net':
      return (await import('./dut-vhost-net.ts')).VhostNetConformDut.start(spec.backend, opts.ledger);
  }
}

/** Guest memory in a memfd another process can map (vhost-user; `uva: 'process'` for the kernel). */
export function memfdRigMemory(bytes: number, uva?: 'process'): RigMemory {
  const m = memfdGuestMemory({ size: Math.ceil(bytes / 4096) * 4096, name: 'vnb-conform', ...(uva ? { uva } : {}) });
  return { memory: m.memory, close: () => m.close() };
}
