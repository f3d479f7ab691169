// The terminal view of a conformance run: one row per requirement with its outcome and evidence
// (cut to the terminal width; the run directory keeps it whole), then the counts and what a
// failure means for the exit code.
import Table from 'cli-table3';
import type { ConformanceFindingRecord, ConformanceRecord } from '../results/types.ts';

const MARK: Record<ConformanceRecord['outcome'], string> = { pass: 'pass', fail: 'FAIL', warn: 'warn', skip: 'skip' };

export function conformanceTable(records: readonly ConformanceRecord[], width = 120): string {
  const evidenceWidth = Math.max(30, width - 62);
  const t = new Table({
    head: ['req', '§', 'level', 'requirement', 'outcome', 'evidence'],
    colWidths: [5, 14, 7, 28, 8, evidenceWidth],
    wordWrap: true,
    style: { head: [], border: [] },
  });
  for (const r of records) t.push([r.requirement, r.section, r.level, r.title, MARK[r.outcome], clip(r.evidence, evidenceWidth * 3)]);
  return t.toString();
}

export function counts(records: readonly ConformanceRecord[]): Record<ConformanceRecord['outcome'], number> {
  const c = { pass: 0, fail: 0, warn: 0, skip: 0 };
  for (const r of records) c[r.outcome]++;
  return c;
}

/** MUST requirements that failed: any one makes the exit code 1. */
export function mustFailures(records: readonly ConformanceRecord[]): ConformanceRecord[] {
  return records.filter((r) => r.outcome === 'fail' && r.level === 'MUST');
}

/** One progress line per check as it finishes, and one per requirement a check saw broken. */
export function progressLine(r: ConformanceRecord | ConformanceFindingRecord): string {
  if (r.type === 'conformance-finding') return `     ${r.requirement.padEnd(4)} seen broken during ${r.check}${r.count > 1 ? ` (${r.count}×)` : ''} on ring ${r.ring} at +${r.atMs} ms: ${clip(r.text, 100)}`;
  return `${r.requirement.padEnd(4)} ${MARK[r.outcome].padEnd(5)} ${String(r.durationMs).padStart(6)} ms  ${r.title}`;
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}
