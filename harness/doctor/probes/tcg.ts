// TCG is available when QEMU runs the probe boot sector under pure emulation. That needs nothing
// from the host kernel, only a working qemu-system-x86_64 and its firmware (SeaBIOS). The verdict
// is parsers/accel.ts's tcgVerdict.
import { bootProbe, type BootAttempt } from '../boot.ts';
import type { Ledger } from '../../core/ledger.ts';

export const TCG_DEADLINE_MS = 15_000;

export function tryTcg(qemu: string, image: string, ledger: Ledger | undefined): Promise<BootAttempt> {
  return bootProbe({ qemu, accel: 'tcg', image, ledger, deadlineMs: TCG_DEADLINE_MS });
}
