// Run an engine between two sides: start its servers once, then per iteration start the clients
// together, open and close a measurement window inside their run (the sampler's snapshots), wait
// for them, parse and combine. Knows nothing of QEMU or the sampler: window hooks connect those.
//
// The window: clients start at t0, begin their timed run after the engine's startupS (s) and run
// d seconds; the window opens at t0 + s + m and closes at t0 + s + d - m, m = clamp(0.15 d, 0.25 s, 2 s). Connection setup, slow start and teardown stay outside, so
// CPU is sampled in steady state; the engine's rate is over its whole run, and both are rates, so
// service demand (CPU rate / work rate) is consistent. A client that ends before the window
// closes is an error: its CPU would be missing.
import { TimeoutError } from '../core/errors.ts';
import type { Metrics } from '../results/metrics.ts';
import { wholeSeconds } from './netperf.ts';
import { WorkloadParseError } from './parse.ts';
import { listeningOn, type Outcome, type RunningServer, type SideRunner, type StartedCommand } from './sides.ts';
import type { Side, WorkloadEngine, WorkloadSpec } from './types.ts';

export interface Sides {
  guest: SideRunner;
  peer: SideRunner;
}

export interface ServerSet {
  side: Side;
  servers: RunningServer[];
  /** Host pids of the servers (empty when they run in a guest). */
  hostPids: number[];
  commands: string[][];
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const other = (s: Side): Side => (s === 'guest' ? 'peer' : 'guest');

async function isListening(runner: SideRunner, port: number, proto: 'tcp' | 'udp'): Promise<boolean> {
  for (const file of [`/proc/net/${proto}`, `/proc/net/${proto}6`]) {
    const text = await runner.readFile(file).catch(() => '');
    if (listeningOn(text, port, proto)) return true;
  }
  return false;
}

/** Start the engine's servers on the side opposite the clients and wait until each listens. */
export async function startServers(engine: WorkloadEngine, spec: WorkloadSpec, sides: Sides, timeoutMs = 15_000): Promise<ServerSet> {
  const side = other(engine.clientSide(spec));
  const runner = sides[side];
  const cmds = engine.servers(spec.serverIp, spec);
  const servers: RunningServer[] = [];
  const stop = async () => {
    const errors: string[] = [];
    for (const s of servers.splice(0)) await s.stop().catch((e: Error) => errors.push(e.message));
    if (errors.length) throw new Error(`stopping ${engine.name} servers: ${errors.join('; ')}`);
  };
  try {
    for (const c of cmds) servers.push(await runner.spawnServer(c.argv));
    const deadline = Date.now() + timeoutMs;
    for (const [i, c] of cmds.entries()) {
      while (!(await isListening(runner, c.port, c.proto))) {
        if (Date.now() > deadline) {
          throw new TimeoutError(`${engine.name} server on the ${side} side to listen on ${c.proto} port ${c.port}`, timeoutMs, servers[i].output().slice(-400));
        }
        await sleep(50);
      }
    }
  } catch (e) {
    await stop().catch(() => {});
    throw e;
  }
  return {
    side,
    servers,
    hostPids: servers.flatMap((s) => (s.hostPid === undefined ? [] : [s.hostPid])),
    commands: cmds.map((c) => c.argv),
    stop,
  };
}

export interface WindowHooks {
  /** Called when the window opens/closes, with the host pids of clients (when on this host). */
  open(clientHostPids: number[]): Promise<void>;
  close(clientHostPids: number[]): Promise<void>;
}

export interface ClientsResult {
  /** Seconds from the first client's start to the last one's end. */
  elapsedS: number;
  metrics: Metrics;
  perClient: Metrics[];
  /** Each client's stdout, for the record's `raw`. */
  raw: string[];
  commands: string[][];
  clientSide: Side;
}

export function windowMarginS(durationS: number): number {
  return Math.min(2, Math.max(0.25, 0.15 * durationS));
}

class ClientFailed extends Error {
  override readonly name = 'ClientFailed';
}

/**
 * A client ran past its deadline (its own run time plus a margin): the side stopped moving
 * traffic. Carries what was awaited, for the stall diagnosis.
 */
export class ClientStalled extends Error {
  override readonly name = 'ClientStalled';
  constructor(
    readonly side: Side,
    readonly argv: string[],
    /** Seconds the client should take (engine start-up + run time). */
    readonly expectedS: number,
    readonly waitedS: number,
    /** What stopped answering, when it was not the client itself (a window hook's read). */
    readonly silent?: string,
  ) {
    super(
      `stalled: ${argv[0]} on the ${side} side ran ${waitedS.toFixed(1)} s, expected ${expectedS.toFixed(1)} s` +
        `${silent ? `; ${silent}` : ''} (${argv.join(' ')})`,
    );
  }
}

/** Seconds a client run should take: the engine's start-up plus the whole-second run time. */
export function expectedClientS(engine: Pick<WorkloadEngine, 'startupS'>, spec: Pick<WorkloadSpec, 'durationS'>): number {
  return engine.startupS + wholeSeconds(spec.durationS);
}

function describeFailure(argv: string[], o: Outcome): string {
  const status = o.signal ? `signal ${o.signal}` : `exit ${o.code}`;
  const tail = `${o.stderr}\n${o.stdout}`.trim().split('\n').slice(-6).join('\n  ');
  return `${argv[0]} failed (${status}): ${argv.join(' ')}${tail ? `\n  ${tail}` : ''}`;
}

/** One iteration: start every client, run the window hooks inside their run, parse and combine. */
export async function runClients(
  engine: WorkloadEngine,
  spec: WorkloadSpec,
  sides: Sides,
  opts: { hooks?: WindowHooks; timeoutMs?: number } = {},
): Promise<ClientsResult> {
  const clientSide = engine.clientSide(spec);
  const runner = sides[clientSide];
  const cmds = engine.clients(spec);
  const d = wholeSeconds(spec.durationS);
  const expectedS = expectedClientS(engine, spec);
  const timeoutMs = opts.timeoutMs ?? (expectedS + 60) * 1000;
  const t0 = Date.now();
  const started: StartedCommand[] = [];
  for (const c of cmds) started.push(await runner.start(c.argv, { timeoutMs }));
  const finished = new Set<number>();
  const outcomes = started.map((s, i) =>
    s.done.then((o) => {
      finished.add(i);
      return o;
    }),
  );
  // Keep a rejection (timeout) from going unhandled while the window sleeps.
  const all = Promise.all(outcomes);
  all.catch(() => {});
  const pids = started.flatMap((s) => (s.hostPid === undefined ? [] : [s.hostPid]));

  if (opts.hooks) {
    const m = windowMarginS(d) * 1000;
    const s = engine.startupS * 1000;
    const inWindow = async (atMs: number, hook: (p: number[]) => Promise<void>, what: string) => {
      const wait = t0 + atMs - Date.now();
      if (wait > 0) await Promise.race([sleep(wait), all.then(() => {}, () => {})]);
      if (finished.size > 0) {
        const o = await outcomes[[...finished][0]];
        throw new ClientFailed(`${engine.name} client ended before the measurement window ${what}: ${describeFailure(cmds[[...finished][0]].argv, o)}`);
      }
      try {
        await hook(pids);
      } catch (e) {
        // A side that does not answer while its clients run has stalled as surely as a client that overruns.
        if (!(e instanceof TimeoutError)) throw e;
        throw new ClientStalled(clientSide, cmds[0]!.argv, expectedS, (Date.now() - t0) / 1000, `the window ${what === 'opened' ? 'opening' : 'closing'} got no answer: ${e.message}`);
      }
    };
    await inWindow(s + m, opts.hooks.open, 'opened');
    await inWindow(s + d * 1000 - m, opts.hooks.close, 'closed');
  }
  const results = await all.catch((e: unknown) => {
    if (!(e instanceof TimeoutError)) throw e;
    const i = started.findIndex((_, k) => !finished.has(k));
    throw new ClientStalled(clientSide, cmds[Math.max(0, i)]!.argv, expectedS, (Date.now() - t0) / 1000);
  });
  const elapsedS = (Date.now() - t0) / 1000;
  const perClient = results.map((o, i) => {
    if (o.code !== 0) throw new ClientFailed(describeFailure(cmds[i].argv, o));
    try {
      return engine.parse(o.stdout, spec);
    } catch (e) {
      if (e instanceof WorkloadParseError && o.stderr.trim()) e.message += `\nstderr:\n${o.stderr.trim().slice(-400)}`;
      throw e;
    }
  });
  return {
    elapsedS,
    metrics: engine.combine(perClient),
    perClient,
    raw: results.map((o) => o.stdout),
    commands: cmds.map((c) => c.argv),
    clientSide,
  };
}

/** The address clients connect to: the peer's, or the guest's when the clients run on the peer. */
export function serverAddress(
  engine: WorkloadEngine,
  spec: Pick<WorkloadSpec, 'workload' | 'direction'>,
  addrs: { guestIp: string; peerIp: string },
): string {
  return engine.clientSide(spec) === 'guest' ? addrs.peerIp : addrs.guestIp;
}
