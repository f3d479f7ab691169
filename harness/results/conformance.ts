// One verdict per requirement from a conformance run's records: each check's own record, with the
// findings other checks made against the same requirement folded in. A requirement seen broken
// anywhere fails (MUST) or warns (SHOULD) even when its own check passed or was skipped; one seen
// broken without its check in the run (--only) gets a row of its own. Pure, so the terminal table,
// the exit code and the reports agree.
import type { ConformanceFindingRecord, ConformanceRecord, ResultRecord } from './types.ts';

/** How many findings per requirement the evidence spells out (all are kept in `seen`). */
const SHOWN = 3;

export function judgeConformance(records: readonly ResultRecord[]): ConformanceRecord[] {
  const own = records.filter((r): r is ConformanceRecord => r.type === 'conformance');
  const found = records.filter((r): r is ConformanceFindingRecord => r.type === 'conformance-finding');
  const key = (r: { dut: string; requirement: string }) => `${r.dut}\u0000${r.requirement}`;
  const byReq = new Map<string, ConformanceFindingRecord[]>();
  for (const f of found) byReq.set(key(f), [...(byReq.get(key(f)) ?? []), f]);
  const out: ConformanceRecord[] = own.map((r) => fold(r, byReq.get(key(r)) ?? []));
  const covered = new Set(own.map(key));
  for (const [k, fs] of byReq) {
    if (covered.has(k)) continue;
    const f = fs[0];
    const base: ConformanceRecord = {
      type: 'conformance',
      dut: f.dut,
      transport: f.transport,
      requirement: f.requirement,
      section: f.section,
      level: f.level,
      title: f.title,
      outcome: 'skip',
      evidence: 'its own check was not in this run',
      durationMs: 0,
    };
    out.push(fold(base, fs));
  }
  return out;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function fold(r: ConformanceRecord, fs: readonly ConformanceFindingRecord[]): ConformanceRecord {
  if (!fs.length) return r;
  const seen = fs.map(({ check, ring, atMs, text, count }) => ({ check, ring, atMs, text, count }));
  const lines = seen.slice(0, SHOWN).map((s) => `during ${s.check}${s.count > 1 ? ` (${s.count}×)` : ''}, ring ${s.ring}, +${s.atMs} ms: ${s.text}`);
  const more = seen.length > SHOWN ? `; and during ${seen.slice(SHOWN).map((s) => s.check).join(', ')}` : '';
  const total = seen.reduce((n, s) => n + s.count, 0);
  const also = `seen broken ${total}× during ${plural(seen.length, 'other check')}: ${lines.join('; ')}${more}`;
  if (r.outcome === 'fail') return { ...r, evidence: `${r.evidence} — also ${also}`, seen };
  const outcome = r.level === 'MUST' ? 'fail' : 'warn';
  if (r.outcome === 'warn' && outcome === 'warn') return { ...r, evidence: `${r.evidence} — also ${also}`, seen };
  return { ...r, outcome, checkOutcome: r.outcome, evidence: `${also} (its own check: ${r.outcome}: ${r.evidence})`, seen };
}
