// The contract between the conformance checks (suites/conformance/) and the machinery that runs
// them: what a check declares about itself, what it returns, and what it gets to work with.
// A check knows its catalogue ID (docs/conformance-requirements.md), spec section, level,
// the features and transports it needs; the runner decides applicability, enforces the deadline,
// watches the device's liveness and records the verdict.
import type { DeviceSession, SessionOp, Support } from '../vhost/session.ts';
import type { Rig, RigSpec } from './rig-types.ts';
import type { Wire } from './wire.ts';

/** How the suite reaches the device: in this process, vhost-user socket, or /dev/vhost-net. */
export type ConformTransport = 'in-process' | 'vhost-user' | 'vhost-net';

/** A DeviceSession whose transport may also be the in-process reference device. */
export type ControlSession = Omit<DeviceSession, 'transport'> & { readonly transport: ConformTransport };

export type Level = 'MUST' | 'SHOULD';

/** What a check concluded. `evidence` says expected vs observed, or why it was skipped. */
export type Verdict =
  | { outcome: 'pass'; evidence: string }
  | { outcome: 'fail'; evidence: string }
  | { outcome: 'warn'; evidence: string }
  | { outcome: 'skip'; evidence: string };

export const pass = (evidence: string): Verdict => ({ outcome: 'pass', evidence });
export const fail = (evidence: string): Verdict => ({ outcome: 'fail', evidence });
export const warn = (evidence: string): Verdict => ({ outcome: 'warn', evidence });
export const skip = (evidence: string): Verdict => ({ outcome: 'skip', evidence });

/** A requirement not met: fail for MUST, warn for SHOULD. */
export function unmet(level: Level, evidence: string): Verdict {
  return level === 'MUST' ? fail(evidence) : warn(evidence);
}

export type CheckGroup = 'F' | 'S' | 'I' | 'N' | 'P' | 'O' | 'H' | 'M' | 'A';

export interface CheckNeeds {
  /** Feature bits the device must offer (virtio bit numbers). */
  features?: readonly number[];
  /** Ring format the check drives. */
  ring?: 'split' | 'packed';
  /** The suite must be able to inject frames toward the device's RX, capture its TX, or both. */
  wire?: 'inject' | 'capture' | 'both';
  /** Queue pairs needed (default 1). */
  pairs?: number;
  /** Control operations the session must express (ring enable, status, reset...). */
  ops?: readonly SessionOp[];
}

export interface Check {
  /** Catalogue ID: F1, S4, N3 ... (adversarial: A1..A7). */
  id: string;
  group: CheckGroup;
  /** virtio v1.2-cs01 section numbering. */
  section: string;
  level: Level;
  title: string;
  needs: CheckNeeds;
  /** Transports that cannot express this check, with the reason (packed rings over vhost-net...). */
  cannot?: Partial<Record<ConformTransport, string>>;
  /**
   * Requirements this check judges itself or provokes on purpose (adversarial layouts): what its
   * rigs' ring watches see breaking them is not reported as a finding. A check always owns its id.
   */
  owns?: readonly string[];
  /**
   * The check reads its rings raw (its own used-ring bookkeeping, or snapshots of the rings and
   * guest memory judging every change): a wire that writes into the check's own rings (loopback)
   * is not lent to it, and the wire parts of the check are left out.
   */
  rawRings?: boolean;
  /** Deadline for run(); the runner records a hang after it (default 10 s). */
  timeoutMs?: number;
  run(ctx: CheckContext): Promise<Verdict>;
}

export interface HealthReport {
  ok: boolean;
  /** What was tried and what happened. */
  detail: string;
}

/** What a check works with. Rigs opened through it are closed by the runner. */
export interface CheckContext {
  readonly dutName: string;
  readonly transport: ConformTransport;
  /** Features the suite may use: what the device offers, narrowed by --features (vhost-only bits kept). */
  readonly offered: bigint;
  /** Everything the device offers, as the transport reports it (F1/F2 judge this). */
  readonly deviceOffered: bigint;
  /** The device's far end, when the suite owns it. */
  readonly wire: Wire | undefined;
  /** Bring up a device session with this layout and features. */
  open(spec: RigSpec): Promise<Rig>;
  /** A bare control session (no bring-up), for negotiation checks. */
  connect(): Promise<ControlSession>;
  /** Whether the device process is still running (false after a crash). */
  alive(): boolean;
  /** A fresh session passes one good frame: the device still works after what the check did. */
  probeHealth(): Promise<HealthReport>;
  /** Control operations the transport can express at all (before negotiation). */
  canExpress(op: SessionOp): Support;
  /** Progress notes (shown with --verbose). */
  note(msg: string): void;
}

/** Requirements whose breach derails the ring bookkeeping every check relies on. */
export const BOOKKEEPING = ['S6', 'S7', 'S8'] as const;

/** Everything the ring watches judge in every check (ring-watch.ts and the lanes). */
export const WATCHED = ['S1', 'S5', 'S6', 'S7', 'S8', 'H1', 'H2', 'N1', 'N3', 'P7'] as const;

/**
 * Each check judges its own requirement only. When a check would fail (or warn) and the device
 * also broke a bookkeeping rule another check owns (used ids, used.idx, beyond avail.idx), the
 * failure may follow from that one: the check is then not evaluable, with the cause named and what
 * it would have reported kept. The breach itself is recorded against its requirement.
 */
export function attribute(v: Verdict, anomalies: readonly { requirement: string; text: string }[]): Verdict {
  if ((v.outcome !== 'fail' && v.outcome !== 'warn') || anomalies.length === 0) return v;
  const owners = [...new Set(anomalies.map((a) => a.requirement))].join('/');
  const more = anomalies.length > 1 ? `; ${anomalies.length - 1} more` : '';
  return skip(`not evaluable: the device broke a rule ${owners} judges (${anomalies[0].text}${more}); this check alone would have reported: ${v.evidence}`);
}
