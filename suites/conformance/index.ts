// The conformance suite: one check per requirement of the catalogue
// (docs/conformance-requirements.md: F*, S*, I*, N*, P*, O*, H*, M*) plus the adversarial
// set (A*), in catalogue order.
import { UsageError } from '../../harness/core/errors.ts';
import type { Check } from '../../harness/conform/types.ts';
import { ADVERSARIAL_CHECKS } from './adversarial.ts';
import { FEATURE_CHECKS } from './features.ts';
import { INDIRECT_CHECKS } from './indirect.ts';
import { IN_ORDER_CHECKS } from './in-order.ts';
import { MULTIQUEUE_CHECKS } from './multiqueue.ts';
import { NET_HEADER_CHECKS } from './net-header.ts';
import { NOTIFY_CHECKS } from './notifications.ts';
import { PACKED_CHECKS } from './packed-ring.ts';
import { BUFFER_CHECKS } from './split-buffers.ts';
import { USED_RING_CHECKS } from './split-used-ring.ts';

export const CHECKS: readonly Check[] = [
  ...FEATURE_CHECKS,
  ...BUFFER_CHECKS,
  ...USED_RING_CHECKS,
  ...INDIRECT_CHECKS,
  ...NOTIFY_CHECKS,
  ...PACKED_CHECKS,
  ...IN_ORDER_CHECKS,
  ...NET_HEADER_CHECKS,
  ...MULTIQUEUE_CHECKS,
  ...ADVERSARIAL_CHECKS,
];

/**
 * --only: requirement IDs and group letters, comma-separated ("S4,N", "A"). Unknown names are a
 * UsageError listing what exists.
 */
export function selectChecks(only: string | undefined, all: readonly Check[] = CHECKS): Check[] {
  if (only === undefined) return [...all];
  const wanted = only
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  if (wanted.length === 0) throw new UsageError('--only is empty', 'give requirement IDs or group letters, e.g. --only S4,N7 or --only A');
  const ids = new Set(all.map((c) => c.id));
  const groups = new Set(all.map((c) => c.group as string));
  const unknown = wanted.filter((w) => !ids.has(w) && !groups.has(w));
  if (unknown.length) {
    throw new UsageError(`--only: unknown requirement ${unknown.map((u) => JSON.stringify(u)).join(', ')}`, `known IDs: ${[...ids].join(' ')}; groups: ${[...groups].join(' ')}`);
  }
  return all.filter((c) => wanted.includes(c.id) || wanted.includes(c.group));
}
