// Stalls: a workload client that overruns its run time plus a margin is declared stalled (the
// guest's network stopped moving), and what guest, host and peer showed at that moment is kept
// with the error: the virtio queues (indices, flags, event indices, and which side dropped a
// notification), the guest's interfaces and sockets, the host's links, the peer's sockets and
// the guest console. The run then reboots the guest and retries the cell once (execute.ts).
import { TimeoutError } from '../core/errors.ts';
import { exec } from '../core/exec.ts';
import type { RunningGuest } from '../guest/qemu.ts';
import { diagnoseQueues } from '../guest/virtio-state.ts';
import type { HostTopology } from '../topology/types.ts';
import { describeVerdicts, type QueueVerdict } from '../virtio/queue-verdict.ts';
import type { ClientStalled } from '../workloads/runner.ts';

/**
 * The margin a client may overrun its own run time by before it counts as stalled, from what
 * this guest showed: the worst overrun of its finished clients (connection set-up and teardown
 * under this accelerator and load) and its boot time (how slow this guest is). A TCG guest that
 * boots in 2 s gets 10 s; a stall is then caught in seconds instead of a minute.
 */
export class StallWatch {
  private worstOverrunS = 0;
  private runs = 0;

  constructor(private readonly bootS: number) {}

  marginS(): number {
    const derived = Math.max(3 * this.worstOverrunS, 2 * this.bootS) + 5;
    return Math.min(60, Math.max(10, derived));
  }

  /** The client deadline for a run expected to take `expectedS`. */
  timeoutMs(expectedS: number): number {
    return Math.round((expectedS + this.marginS()) * 1000);
  }

  /** A finished client run: how long it should have taken and how long it took. */
  observe(expectedS: number, elapsedS: number): void {
    this.runs++;
    this.worstOverrunS = Math.max(this.worstOverrunS, elapsedS - expectedS);
  }

  describe(): string {
    return `margin ${this.marginS().toFixed(1)} s (worst overrun ${this.worstOverrunS.toFixed(2)} s over ${this.runs} run(s), boot ${this.bootS.toFixed(2)} s)`;
  }
}

/** What the harness was waiting for when the guest went silent. */
export interface Awaited {
  what: string;
  side?: string;
  argv?: string[];
  expectedS?: number;
  waitedS?: number;
}

/** A client overrun carries the most; any other timeout inside a cell says what it awaited. */
export function awaitedOf(e: ClientStalled | TimeoutError): Awaited {
  if (e instanceof TimeoutError) return { what: e.message };
  return { what: e.message, side: e.side, argv: e.argv, expectedS: e.expectedS, waitedS: e.waitedS };
}

export interface StallEvidence {
  awaited: Awaited & { margin: string };
  /** One line: the queue that names a side, or that none does. */
  verdict: string;
  queues?: { verdicts: QueueVerdict[]; snapshots: unknown };
  guest: Record<string, string>;
  host: Record<string, string>;
  peer: Record<string, string>;
  console: string;
}

const CAP = 4000;
const capped = (s: string) => (s.length > CAP ? `${s.slice(0, CAP)}\n... (${s.length - CAP} more characters)` : s);

/** Whatever a probe gives within its time, or why it gave nothing: a stalled guest may not answer. */
async function attempt(what: () => Promise<string>, ms = 5000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = await Promise.race([
      what(),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${ms / 1000} s`)), ms))),
    ]);
    return capped(r.trim());
  } catch (e) {
    return `(unavailable: ${(e as Error).message.split('\n')[0]})`;
  } finally {
    clearTimeout(timer);
  }
}

const run = async (argv: string[]) => {
  const r = await exec(argv, { nothrow: true, timeoutMs: 5000 });
  return r.code === 0 ? r.stdout : `exit ${r.code}: ${r.stderr}`;
};

export async function collectStallEvidence(awaited: Awaited, guest: RunningGuest, topo: HostTopology, margin: string): Promise<StallEvidence> {
  const agent = guest.agent;
  let verdict: string;
  let queues: StallEvidence['queues'];
  let qemuAnswers = true;
  try {
    const q = await diagnoseQueues(guest.qmp);
    queues = { verdicts: q.verdicts, snapshots: { first: q.first.queues, second: q.second.queues, features: q.second.features } };
    verdict = describeVerdicts(q.verdicts);
  } catch (e) {
    qemuAnswers = !(e instanceof TimeoutError);
    verdict = `virtio queue state unavailable: ${(e as Error).message.split('\n')[0]}`;
  }
  // A QEMU that does not answer QMP runs no guest either: asking the agent would only time out.
  const probe = (what: () => Promise<string>) => (qemuAnswers ? attempt(what) : Promise.resolve('(skipped: QEMU does not answer QMP)'));
  const guestFacts = {
    netDev: await probe(() => agent.readFile('/proc/net/dev')),
    tcp: await probe(() => agent.readFile('/proc/net/tcp')),
    udp: await probe(() => agent.readFile('/proc/net/udp')),
    interrupts: await probe(async () => (await agent.readFile('/proc/interrupts')).split('\n').filter((l) => /virtio|CPU0/.test(l)).join('\n')),
    dmesgTail: await probe(async () => (await agent.exec(['dmesg'], { timeoutMs: 5000 })).stdout.split('\n').slice(-20).join('\n')),
  };
  const host = { links: await attempt(() => run(topo.inGuestNs(['ip', '-s', 'link', 'show']))) };
  const peer = { sockets: await attempt(() => run(topo.inPeerNs(['ss', '-tuanoi']))) };
  return {
    awaited: { ...awaited, margin },
    verdict,
    ...(queues ? { queues } : {}),
    guest: guestFacts,
    host,
    peer,
    console: capped(guest.diagnostics(20)),
  };
}
