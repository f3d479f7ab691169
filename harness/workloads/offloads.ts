// Offload toggling as argv builders (the offloads matrix dimension is applied by the run, on the
// guest NIC through the agent and on the host-side device inside the guest namespace). ethtool
// names: tso = tx-tcp-segmentation (+ ecn/mangleid/tcp6), gso = tx-generic-segmentation,
// gro = rx-gro. The classic virtio comparisons were taken with GSO/TSO off.
import type { LinkRestore } from '../core/ledger.ts';

export const OFFLOAD_FEATURES = ['tso', 'gso', 'gro'] as const;
export type OffloadFeature = (typeof OFFLOAD_FEATURES)[number];
export type OffloadState = 'on' | 'off';
export type OffloadSettings = Partial<Record<OffloadFeature, OffloadState>>;

/** The same state for every feature (the matrix's "offloads on/off"). */
export function allOffloads(state: OffloadState): OffloadSettings {
  return { tso: state, gso: state, gro: state };
}

/** `ethtool -K DEV tso off gso off gro off`: run it in the guest (agent) or wrapped for a namespace. */
export function setOffloadsArgv(dev: string, settings: OffloadSettings): string[] {
  const pairs = OFFLOAD_FEATURES.flatMap((f) => (settings[f] ? [f, settings[f]!] : []));
  if (pairs.length === 0) throw new Error('setOffloadsArgv: no offload feature given');
  return ['ethtool', '-K', dev, ...pairs];
}

export function showOffloadsArgv(dev: string): string[] {
  return ['ethtool', '-k', dev];
}

// `ethtool -k` long names for the short ones ethtool -K accepts.
const LONG: Record<OffloadFeature, string> = {
  tso: 'tcp-segmentation-offload',
  gso: 'generic-segmentation-offload',
  gro: 'generic-receive-offload',
};

/**
 * Current state from `ethtool -k` output ("generic-segmentation-offload: on [fixed]"). A feature
 * ethtool cannot change is marked fixed, so a run can say so instead of pretending it toggled.
 */
export function parseOffloads(text: string): Record<OffloadFeature, { state: OffloadState; fixed: boolean }> {
  const out = {} as Record<OffloadFeature, { state: OffloadState; fixed: boolean }>;
  for (const f of OFFLOAD_FEATURES) {
    const m = new RegExp(`^\\s*${LONG[f]}:\\s*(on|off)(\\s*\\[fixed\\])?`, 'm').exec(text);
    if (!m) throw new Error(`ethtool -k output has no "${LONG[f]}:" line:\n${text.slice(0, 400)}`);
    out[f] = { state: m[1] as OffloadState, fixed: Boolean(m[2]) };
  }
  return out;
}

/** The ledger's restore record for a host link whose offloads a run changes (record it first). */
export function offloadRestore(current: ReturnType<typeof parseOffloads>): LinkRestore {
  return { offloads: Object.fromEntries(OFFLOAD_FEATURES.map((f) => [f, current[f].state])) };
}

/** Features whose state after `ethtool -K` differs from what was asked (fixed ones, usually). */
export function offloadMismatches(asked: OffloadSettings, after: ReturnType<typeof parseOffloads>): string[] {
  return OFFLOAD_FEATURES.flatMap((f) =>
    asked[f] && after[f].state !== asked[f] ? [`${f} is ${after[f].state}${after[f].fixed ? ' [fixed]' : ''}, asked ${asked[f]}`] : [],
  );
}
