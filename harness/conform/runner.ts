// Runs conformance checks against one DUT: decides applicability (features offered and allowed,
// transport, wire, queue pairs), runs each check under its deadline, closes whatever the check
// opened, watches the device — a crash or hang during a check is recorded as that check's finding,
// the device is restarted and the suite goes on — and hands each record out as it is produced.
import { NotExpressibleError, type SessionOp, type Support } from '../vhost/session.ts';
import { F, featureNames, has } from '../virtio/features.ts';
import type { ConformanceFindingRecord, ConformanceRecord } from '../results/types.ts';
import { judgeConformance } from '../results/conformance.ts';
import type { ConformDut } from './dut.ts';
import { openRig, VHOST_ONLY_BITS } from './rig.ts';
import type { Rig, RigSpec } from './rig-types.ts';
import type { RingFinding } from './ring-watch.ts';
import { attribute, BOOKKEEPING, fail, skip, type Check, type CheckContext, type ConformTransport, type ControlSession, type HealthReport, type Verdict } from './types.ts';
import { sleep, withTimeout } from './wait.ts';
import { healthProbe } from './health.ts';

export const DEFAULT_CHECK_TIMEOUT_MS = 10_000;

export interface SuiteOptions {
  dut: ConformDut;
  checks: readonly Check[];
  /** Features the suite may negotiate (--features); undefined = all the device offers. */
  allowed?: bigint;
  /** Every requirement of the catalogue (level, section, title of what a finding breaks); default `checks`. */
  catalogue?: readonly Check[];
  /** Called as each record is produced (the run directory appends it). */
  onRecord?: (r: ConformanceRecord | ConformanceFindingRecord) => void;
  onStart?: (c: Check) => void;
  log?: (msg: string) => void;
}

export interface SuiteResult {
  records: ConformanceRecord[];
  /** Requirements seen broken while some check ran. */
  findings: ConformanceFindingRecord[];
  /** One verdict per requirement: the records with the findings folded in (judgeConformance). */
  verdicts: ConformanceRecord[];
  durationMs: number;
  restarts: number;
}

/** Why a check cannot run on this DUT, or undefined when it can. */
export function applicability(check: Check, dut: ConformDut, allowed: bigint | undefined): string | undefined {
  if (dut.unavailable) return dut.unavailable;
  const why = check.cannot?.[dut.transport];
  if (why) return why;
  const offered = dut.offered & ~VHOST_ONLY_BITS;
  for (const b of check.needs.features ?? []) {
    const name = featureNames(1n << BigInt(b))[0];
    if (!has(offered, b)) return `the device does not offer ${name}`;
    if (allowed !== undefined && !has(allowed, b)) return `${name} is not in --features`;
  }
  if (check.needs.ring === 'packed' && !has(offered, F.F_RING_PACKED)) return 'the device does not offer RING_PACKED';
  const w = check.needs.wire;
  if (w && !dut.wire) return dut.noWire ?? "no wire to the device's far end";
  return undefined;
}

/** Session operations a transport can express at all (checked before any session exists). */
function expressible(transport: ConformTransport, op: SessionOp): Support {
  if (transport === 'vhost-net') {
    const no: Partial<Record<SessionOp, string>> = {
      ringEnable: 'vhost-net has no per-ring enable (rings run once a backend is attached)',
      status: 'vhost-net carries no virtio status (DRIVER_OK is a vDPA ioctl)',
      protocolFeatures: 'vhost-net has no vhost-user protocol features',
    };
    return no[op] ? { ok: false, reason: no[op]! } : { ok: true };
  }
  if (transport === 'in-process') {
    if (op === 'ringEnable') return { ok: false, reason: 'the in-process reference device has no per-ring enable (a vhost-user ring state)' };
    if (op === 'protocolFeatures') return { ok: false, reason: 'the in-process device has no vhost-user protocol features' };
    return { ok: true };
  }
  return { ok: true };
}

/**
 * What a check's rigs saw breaking requirements the check does not own: per requirement the
 * first sighting (where, when: ms after the check started) and how many there were.
 */
function unownedFindings(owns: ReadonlySet<string>, seen: readonly RingFinding[], t0: number): { requirement: string; ring: number; atMs: number; text: string; count: number }[] {
  const byReq = new Map<string, { requirement: string; ring: number; atMs: number; text: string; count: number }>();
  for (const f of seen) {
    if (owns.has(f.requirement)) continue;
    const had = byReq.get(f.requirement);
    if (had) had.count++;
    else byReq.set(f.requirement, { requirement: f.requirement, ring: f.ring, atMs: Math.max(0, Math.round(f.at - t0)), text: f.text, count: 1 });
  }
  return [...byReq.values()];
}

class Context implements CheckContext {
  readonly rigs: Rig[] = [];
  /** Every rig the check opened, kept after closing for the anomaly report. */
  readonly opened: Rig[] = [];
  readonly sessions: ControlSession[] = [];
  readonly notes: string[] = [];

  constructor(
    private readonly dut: ConformDut,
    private readonly allowed: bigint | undefined,
    private readonly log: (m: string) => void,
    private readonly check?: Check,
  ) {}

  get dutName() {
    return this.dut.name;
  }
  get transport() {
    return this.dut.transport;
  }
  get offered() {
    return this.allowed === undefined ? this.dut.offered : this.dut.offered & (this.allowed | VHOST_ONLY_BITS);
  }
  get deviceOffered() {
    return this.dut.offered;
  }
  /** A wire that works through the check's own rings is not lent to a check that snapshots them. */
  get wire() {
    const w = this.dut.wire;
    return w?.sharesRings && this.check?.rawRings ? undefined : w;
  }

  async open(spec: RigSpec): Promise<Rig> {
    const features = this.allowed === undefined ? spec.features : spec.features & this.allowed;
    const rig = await openRig(this.dut, { ...spec, features });
    this.wire?.bind?.(rig);
    this.rigs.push(rig);
    this.opened.push(rig);
    return rig;
  }

  async connect(): Promise<ControlSession> {
    const s = await this.dut.connect();
    this.sessions.push(s);
    return s;
  }

  alive(): boolean {
    return this.dut.alive();
  }

  probeHealth(): Promise<HealthReport> {
    return healthProbe(this.dut);
  }

  canExpress(op: SessionOp): Support {
    return expressible(this.dut.transport, op);
  }

  note(msg: string): void {
    this.notes.push(msg);
    this.log(`  ${msg}`);
  }

  async closeAll(): Promise<void> {
    for (const r of this.rigs.splice(0)) await r.close().catch(() => undefined);
    for (const s of this.sessions.splice(0)) await withTimeout(s.close(), 3000, 'closing a session').catch(() => undefined);
  }
}

type Seen = ReturnType<typeof unownedFindings>;

/** Run one check; never throws. */
async function runOne(check: Check, o: SuiteOptions, log: (m: string) => void): Promise<{ verdict: Verdict; hung: boolean; seen: Seen }> {
  const ctx = new Context(o.dut, o.allowed, log, check);
  const ms = check.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const t0 = performance.now();
  let hung = false;
  let verdict: Verdict;
  try {
    verdict = await withTimeout(check.run(ctx), ms, `${check.id} to finish`);
  } catch (err) {
    verdict = fromError(err, ms);
    hung = (err as Error).name === 'TimeoutError' && /to finish/.test((err as Error).message);
  } finally {
    await ctx.closeAll();
  }
  const seen = unownedFindings(new Set([check.id, ...(check.owns ?? [])]), ctx.opened.flatMap((r) => r.findings()), t0);
  return { verdict: attribute(verdict, seen.filter((f) => (BOOKKEEPING as readonly string[]).includes(f.requirement))), hung, seen };
}

function fromError(err: unknown, ms: number): Verdict {
  const e = err as Error;
  if (err instanceof NotExpressibleError) return skip(`the transport cannot express ${e.message}`);
  if (e?.name === 'TimeoutError' && /to finish/.test(e.message)) {
    return fail(`expected the check to finish within ${ms / 1000} s; observed the device stopped making progress (${e.message})`);
  }
  return fail(`expected the check to reach a verdict; observed it aborted on the device's behaviour: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`);
}

/** After a check: a dead or unresponsive device is a finding, then it is restarted. */
async function afterCheck(o: SuiteOptions, v: Verdict, hung: boolean, log: (m: string) => void): Promise<{ verdict: Verdict; restarted: boolean }> {
  const dut = o.dut;
  let verdict = v;
  let dead = !dut.alive();
  let why = dead ? dut.deathNote() : '';
  if (!dead && (hung || verdict.outcome === 'fail')) {
    // A hang or an aborted check may mean the device no longer answers: ask it.
    const h = await healthProbe(dut);
    if (!h.ok) {
      dead = true;
      // A process that died meanwhile says more (exit status, log) than the failed probe.
      await sleep(100);
      why = dut.alive() ? `the device no longer works: ${h.detail}` : dut.deathNote();
    }
  }
  if (!dead) return { verdict, restarted: false };
  if (verdict.outcome !== 'fail') verdict = fail(`expected the device alive after the check; observed it crashed or stopped working (${why}); before that: ${verdict.evidence}`);
  else if (!verdict.evidence.includes(why)) verdict = fail(`${verdict.evidence} — device state afterwards: ${why}`);
  if (!dut.restart) return { verdict, restarted: false };
  log(`  restarting ${dut.name}: ${why.split('\n')[0]}`);
  await dut.restart();
  await sleep(50);
  return { verdict, restarted: true };
}

export async function runSuite(o: SuiteOptions): Promise<SuiteResult> {
  const t0 = performance.now();
  const log = o.log ?? (() => {});
  const records: ConformanceRecord[] = [];
  const findings: ConformanceFindingRecord[] = [];
  const catalogue = new Map((o.catalogue ?? o.checks).map((c) => [c.id, c]));
  /** A requirement seen broken while `during` ran: a record of its own, written at once. */
  const emit = (during: string, seen: Seen) => {
    for (const f of seen) {
      const req = catalogue.get(f.requirement);
      const rec: ConformanceFindingRecord = {
        type: 'conformance-finding',
        dut: o.dut.name,
        transport: o.dut.transport,
        requirement: f.requirement,
        section: req?.section ?? '',
        level: req?.level ?? 'MUST',
        title: req?.title ?? f.requirement,
        check: during,
        ring: f.ring,
        atMs: f.atMs,
        text: f.text,
        count: f.count,
      };
      findings.push(rec);
      o.onRecord?.(rec);
    }
  };
  // Sessions before the first check (the wire probe) are watched like any check's.
  const start = o.dut.startFindings;
  if (start) emit(start.label, unownedFindings(new Set(), start.findings, start.t0));
  let restarts = 0;
  /** A device the suite cannot restart died: the checks after it are not run. */
  let gone: string | undefined;
  for (const check of order(o.checks)) {
    o.onStart?.(check);
    const start = performance.now();
    let verdict: Verdict;
    const why = gone ?? applicability(check, o.dut, o.allowed) ?? (await pairsNeeded(check, o.dut)) ?? opsNeeded(check, o.dut);
    if (why) {
      verdict = skip(why);
    } else {
      const r = await runOne(check, o, log);
      emit(check.id, r.seen);
      const after = await afterCheck(o, r.verdict, r.hung, log);
      verdict = after.verdict;
      if (after.restarted) restarts++;
      if (!o.dut.alive() && !o.dut.restart) gone = `not run: the device stopped during ${check.id} and the suite cannot restart a device it does not manage (${o.dut.deathNote().split('\n')[0]})`;
    }
    const rec: ConformanceRecord = {
      type: 'conformance',
      dut: o.dut.name,
      transport: o.dut.transport,
      requirement: check.id,
      section: check.section,
      level: check.level,
      title: check.title,
      outcome: verdict.outcome,
      evidence: verdict.evidence,
      durationMs: Math.round(performance.now() - start),
    };
    records.push(rec);
    o.onRecord?.(rec);
  }
  return { records, findings, verdicts: judgeConformance([...records, ...findings]), durationMs: Math.round(performance.now() - t0), restarts };
}

async function pairsNeeded(check: Check, dut: ConformDut): Promise<string | undefined> {
  const n = check.needs.pairs ?? 1;
  if (n <= 1 || dut.unavailable) return undefined;
  const s = await dut.ensurePairs(n);
  return s.ok ? undefined : s.reason;
}

function opsNeeded(check: Check, dut: ConformDut): string | undefined {
  for (const op of check.needs.ops ?? []) {
    const s = expressible(dut.transport, op);
    if (!s.ok) return s.reason;
  }
  return undefined;
}

/** Catalogue order, with checks needing more queue pairs last (testpmd restarts once for them). */
export function order(checks: readonly Check[]): Check[] {
  return [...checks].sort((a, b) => (a.needs.pairs ?? 1) - (b.needs.pairs ?? 1));
}
