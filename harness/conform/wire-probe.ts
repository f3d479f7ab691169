// Before any check relies on a wire, a probe frame proves it: transmitted by the device, it must
// arrive at the wire; injected at the wire, it must arrive in the device's RX ring. Without a
// named wire the suite looks for a loopback one: a probe transmitted that comes back into RX.
import type { ConformDut } from './dut.ts';
import { HDR, hasNonce, inFrame, nonce, nonceOf, outFrame } from './packets.ts';
import { openRig } from './rig.ts';
import type { Rig } from './rig-types.ts';
import type { UsedEntry } from './split-lane.ts';
import { byteView } from '../virtio/driver/views.ts';
import { F, featureSet } from '../virtio/features.ts';
import type { Wire } from './wire.ts';
import type { RingFinding } from './ring-watch.ts';

const PROBE_MS = 2000;

export interface ProbeResult {
  ok: boolean;
  /** What was sent and what came back, for the terminal and the manifest. */
  detail: string;
  /** What the probe session's ring watches saw (a fault may fire at the very first frame). */
  findings: readonly RingFinding[];
  /** performance.now() when the probe session opened. */
  t0: number;
}

/** One session with the plainest setup, the wire bound to it. */
async function withRig(dut: ConformDut, wire: Wire, fn: (rig: Rig) => Promise<{ ok: boolean; detail: string }>): Promise<ProbeResult> {
  const t0 = performance.now();
  const rig = await openRig(dut, { features: featureSet(F.F_VERSION_1), size: 64, memBytes: 1 << 20 });
  let r: { ok: boolean; detail: string };
  try {
    wire.bind?.(rig);
    r = await fn(rig);
  } finally {
    await rig.close();
  }
  // After close: its last judgements (unread entries, owed notifications) are in.
  return { ...r, findings: rig.findings(), t0 };
}

/** Device → wire: a frame transmitted on TX ring 1 must be captured at the wire. */
async function outbound(rig: Rig, wire: Wire): Promise<string | undefined> {
  const n = nonce();
  const frame = outFrame(n, 80);
  const at = rig.buffer(HDR + frame.length);
  byteView(rig.mem, at + HDR, frame.length).set(frame);
  wire.drain();
  const lane = rig.splitLane(1);
  lane.add([{ addr: at, len: HDR + frame.length }]);
  lane.kick();
  try {
    await wire.expect(hasNonce(n), PROBE_MS);
    return undefined;
  } catch {
    const used = lane.takeUsed().length + lane.returned.length;
    return `a probe frame the device transmitted (TX buffer ${used ? 'returned' : 'not returned'}) did not reach the wire within ${PROBE_MS} ms`;
  }
}

/** Wire → device: a frame injected at the wire must land in a posted RX buffer. */
async function inbound(rig: Rig, wire: Wire): Promise<string | undefined> {
  const n = nonce();
  const rx = rig.splitLane(0);
  const bufs = [0, 1, 2, 3].map(() => {
    const addr = rig.buffer(2048);
    return { addr, id: rx.add([{ addr, len: 2048, write: true }]) };
  });
  rx.kick();
  wire.inject(inFrame(n, 80));
  const deadline = Date.now() + PROBE_MS;
  const seen: UsedEntry[] = [];
  while (Date.now() < deadline) {
    seen.push(...rx.takeUsed());
    for (const u of seen) {
      const b = bufs.find((x) => x.id === u.id);
      if (b && nonceOf(byteView(rig.mem, b.addr + HDR, Math.max(0, Math.min(u.len, 2048) - HDR))) === n) return undefined;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  return `a probe frame injected at the wire did not arrive in the device's RX ring within ${PROBE_MS} ms (${seen.length} other RX buffer(s) used)`;
}

/** Both directions over a named wire. */
export async function verifyWire(dut: ConformDut, wire: Wire): Promise<ProbeResult> {
  return withRig(dut, wire, async (rig) => {
    const problems = [await outbound(rig, wire), await inbound(rig, wire)].filter((p): p is string => p !== undefined);
    return problems.length
      ? { ok: false, detail: problems.join('; ') }
      : { ok: true, detail: `probe frames crossed ${wire.describe} both ways` };
  });
}

/** No wire named: does a frame the device transmits come back into its RX (a loopback wire)? */
export async function detectLoopback(dut: ConformDut, wire: Wire): Promise<ProbeResult> {
  return withRig(dut, wire, async (rig) => {
    const problem = await outbound(rig, wire);
    return problem
      ? { ok: false, detail: `no wire named, and ${problem.replace('did not reach the wire', 'did not come back into RX')}` }
      : { ok: true, detail: 'a probe frame the device transmitted came back into its RX: using a loopback wire' };
  });
}
