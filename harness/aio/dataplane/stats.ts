// Per-pair counters in a SharedArrayBuffer: the Worker writes (one writer, plain stores), the
// control plane reads them whenever it reports. Float64 so byte counts never wrap.

export const STAT_NAMES = [
  'rxPackets',
  'rxBytes',
  'txPackets',
  'txBytes',
  /** A packet longer than the buffers of the read it landed in (dropped). */
  'rxTruncated',
  /** Packets that arrived while their ring was disabled or broken (dropped). */
  'rxDropped',
  /** Packets that overflowed a short read into the bounce buffer and were delivered later. */
  'rxSpilled',
  'rxErrors',
  'txErrors',
  /** TX frames refused before the tap: a header with a GSO type that was not negotiated. */
  'txBadHeader',
  /** TX buffers returned unsent because the ring is disabled (vhost-user ring states). */
  'txDiscarded',
  'kicksRx',
  'kicksTx',
  'calls',
  'syscalls',
  'loops',
  /** Loop turns that slept in the kernel waiting for a completion. */
  'sleeps',
  'completions',
  'readsPosted',
  'writesPosted',
  /** Times the RX ring ran out of guest buffers (waiting for a kick). */
  'rxNoBuffers',
  /** TX chains with more segments than a write slot holds (written synchronously). */
  'txLongChains',
] as const;

export type StatName = (typeof STAT_NAMES)[number];
export const STAT: Record<StatName, number> = Object.fromEntries(STAT_NAMES.map((n, i) => [n, i])) as Record<StatName, number>;

export function newStatsBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(8 * STAT_NAMES.length);
}

export function readStats(buf: SharedArrayBuffer): Record<StatName, number> {
  const f = new Float64Array(buf);
  return Object.fromEntries(STAT_NAMES.map((n, i) => [n, f[i]])) as Record<StatName, number>;
}

export function sumStats(all: Record<StatName, number>[]): Record<StatName, number> {
  const out = Object.fromEntries(STAT_NAMES.map((n) => [n, 0])) as Record<StatName, number>;
  for (const s of all) for (const n of STAT_NAMES) out[n] += s[n];
  return out;
}
