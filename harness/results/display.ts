// Wording the terminal summary and the report share for what a bare number would misstate:
// datagram loss beside a throughput, and error messages cut to one readable line.
import type { MetricSummary } from './types.ts';

/** Mean loss from which every datagram counts as lost (it reads as "100 %"). */
const TOTAL_LOSS_PCT = 99.95;

/** "100 % loss", "1.5 % loss"; undefined when no loss was measured or it is negligible. */
export function lossText(loss: MetricSummary | undefined): string | undefined {
  if (!loss || !Number.isFinite(loss.mean) || loss.mean < 0.05) return undefined;
  if (loss.mean >= TOTAL_LOSS_PCT) return '100 % loss';
  return `${loss.mean >= 10 ? loss.mean.toFixed(0) : loss.mean.toFixed(1)} % loss`;
}

/** Nothing arrived: a throughput of 0 then means total loss, not a slow link. */
export function totalLoss(loss: MetricSummary | undefined): boolean {
  return loss !== undefined && loss.mean >= TOTAL_LOSS_PCT;
}

/**
 * An error's first non-empty line, cut to `max` characters: engine output can hold a 400-character
 * selector list or a console tail, which belong in the run directory, not in a summary line.
 */
export function errorHeadline(message: string, max = 160): string {
  const first = message.split('\n').find((l) => l.trim())?.trim() ?? '';
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}
