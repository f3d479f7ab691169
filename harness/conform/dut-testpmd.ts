// DPDK testpmd over vhost-user as a DUT (harness/vhost/testpmd.ts does the process, namespace and
// veth): the suite owns its far end, restarts it after a crash, and starts a second instance with
// two queue pairs for the multiqueue checks.
import fs from 'node:fs';
import { exec } from '../core/exec.ts';
import { TestpmdDut } from '../vhost/testpmd.ts';
import type { Support } from '../vhost/session.ts';
import { memfdRigMemory, type ConformDut, type RigMemory, type StartOptions } from './dut.ts';
import type { ControlSession } from './types.ts';
import { FramePortWire, type Wire } from './wire.ts';

/** Small EAL memory and mbuf pool: testpmd listens in ~1 s instead of ~4 s, plenty for the suite. */
const TESTPMD_MEM_MB = 256;
const TESTPMD_MBUFS = ['--total-num-mbufs=16384'];

export class TestpmdConformDut implements ConformDut {
  readonly name = 'testpmd';
  readonly transport = 'vhost-user' as const;
  readonly noWire = undefined;
  readonly unavailable = undefined;
  restarts = 0;
  private wireCache: FramePortWire | undefined;

  private constructor(
    private t: TestpmdDut,
    private readonly opts: StartOptions,
    readonly versions: Record<string, string>,
  ) {}

  static async start(opts: StartOptions): Promise<TestpmdConformDut> {
    const t = await TestpmdDut.start(opts.ledger, testpmdOptions(1, opts));
    return new TestpmdConformDut(t, opts, { 'dpdk-dev': await dpdkVersion() });
  }

  get label(): string {
    return `${this.t.label} (${this.queuePairs} queue pair${this.queuePairs > 1 ? 's' : ''}, af_packet port on ${this.t.wire.dutIf} in ${this.t.wire.ns})`;
  }
  get offered(): bigint {
    return this.t.offeredFeatures ?? 0n;
  }
  get queuePairs(): number {
    return this.queues;
  }
  private queues = 1;

  /** testpmd's argv, as its log records it at the latest start. */
  get commandLine(): string[] | undefined {
    try {
      const lines = [...fs.readFileSync(this.t.logPath, 'utf8').matchAll(/^=== start \d+ at \S+: (.*)$/gm)];
      return lines.pop()?.[1].split(' ');
    } catch {
      return undefined;
    }
  }

  get wire(): Wire {
    this.wireCache ??= new FramePortWire(this.t.frames, `AF_PACKET on ${this.t.wire.probeIf} (veth peer of testpmd's af_packet port) in ${this.t.wire.ns}`);
    return this.wireCache;
  }

  async connect(): Promise<ControlSession> {
    return this.t.connect({ replyTimeoutMs: 2000 });
  }

  async attach(): Promise<void> {}

  memory(bytes: number): RigMemory {
    return memfdRigMemory(bytes);
  }

  async ensurePairs(n: number): Promise<Support> {
    if (n <= this.queues) return { ok: true };
    if (n > 8) return { ok: false, reason: `testpmd is started with at most 8 queue pairs, ${n} asked` };
    // A different queue count is a different testpmd: its af_packet port fans frames out by flow
    // hash over all queues, so single-pair checks run on a one-queue instance and this one is
    // started only for the checks that need it.
    this.wireCache?.close();
    this.wireCache = undefined;
    this.pastLogs.push({ name: `testpmd-${this.queues}q.log`, text: this.readLog() });
    await this.t.close();
    this.t = await TestpmdDut.start(this.opts.ledger, testpmdOptions(n, this.opts));
    this.queues = n;
    return { ok: true };
  }

  alive(): boolean {
    return this.t.alive();
  }

  private readonly pastLogs: { name: string; text: string }[] = [];

  private readLog(): string {
    try {
      return fs.readFileSync(this.t.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  /** testpmd's output of every instance the run started (each instance's file is removed with it). */
  logs(): { name: string; text: string }[] {
    return [...this.pastLogs, { name: `testpmd-${this.queues}q.log`, text: this.readLog() }];
  }

  deathNote(): string {
    const e = this.t.exitInfo();
    const how = e ? (e.signal ? `killed by ${e.signal}` : `exited with code ${e.code}`) : 'not answering';
    const tail = this.t.logTail(60).split('\n').filter((l) => l.trim() && !l.includes('\u001b')).slice(-6);
    return `testpmd ${how}; last log lines:\n${tail.join('\n')}`;
  }

  async restart(): Promise<void> {
    await this.t.restart();
    this.restarts++;
  }

  async close(): Promise<void> {
    this.wireCache?.close();
    await this.t.close();
  }
}

function testpmdOptions(queues: number, o: StartOptions) {
  return { queues, memMb: TESTPMD_MEM_MB, extraArgs: TESTPMD_MBUFS, startTimeoutMs: o.startTimeoutMs ?? 30_000 };
}

async function dpdkVersion(): Promise<string> {
  const r = await exec(['dpkg-query', '-W', '-f', '${Version}', 'dpdk-dev'], { nothrow: true });
  return r.code === 0 ? r.stdout.trim() : 'unknown';
}
