// "Does the device still work?": a fresh session with the plainest setup (split rings, VERSION_1)
// transmits one tagged frame; it must come back in the used ring and, when the suite owns the
// wire, appear at the far end. Used after adversarial inputs and after a check that hung.
import { byteView } from '../virtio/driver/views.ts';
import { F, featureSet } from '../virtio/features.ts';
import type { ConformDut } from './dut.ts';
import { HDR, hasNonce, nonce, outFrame } from './packets.ts';
import { openRig } from './rig.ts';
import type { Rig } from './rig-types.ts';
import type { HealthReport } from './types.ts';
import { withTimeout } from './wait.ts';

const PROBE_MS = 2500;

export async function healthProbe(dut: ConformDut): Promise<HealthReport> {
  if (!dut.alive()) return { ok: false, detail: dut.deathNote() };
  let rig: Rig | undefined;
  try {
    return await withTimeout(
      (async () => {
        rig = await openRig(dut, { features: featureSet(F.F_VERSION_1), size: 64, memBytes: 1 << 20 });
        dut.wire?.bind?.(rig);
        const lane = rig.splitLane(1);
        const n = nonce();
        const frame = outFrame(n, 64);
        const buf = rig.buffer(HDR + frame.length);
        byteView(rig.mem, buf + HDR, frame.length).set(frame);
        dut.wire?.drain();
        const head = lane.add([{ addr: buf, len: HDR + frame.length }]);
        lane.kick();
        const used = await lane.waitFor(head, PROBE_MS);
        if (!used) return { ok: false, detail: `a fresh session's TX buffer was not returned within ${PROBE_MS} ms` };
        if (dut.wire) {
          await dut.wire.expect(hasNonce(n), PROBE_MS);
          return { ok: true, detail: 'a fresh session transmitted a frame that reached the far end' };
        }
        return { ok: true, detail: 'a fresh session had its TX buffer returned' };
      })(),
      PROBE_MS * 2 + 2000,
      'the health probe',
    );
  } catch (err) {
    return { ok: false, detail: `health probe failed: ${(err as Error).message}` };
  } finally {
    await (rig as Rig | undefined)?.close();
  }
}
