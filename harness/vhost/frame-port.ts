// The suite's end of the wire: an AF_PACKET socket on the probe veth inside the run's namespace.
// `inject` sends a frame toward the device (it arrives in the device's RX ring); `expect` waits
// for a frame the device transmitted, skipping frames that do not match and counting them.
import { inNetns } from '../sys/netns.ts';
import { packetSocket, type PacketSocket } from '../sys/packet.ts';
import { TimeoutError } from '../core/errors.ts';

export interface FramePort {
  readonly ifname: string;
  /** Network namespace of the interface; '' for the host's own. */
  readonly ns: string;
  inject(frame: Uint8Array): void;
  /** The next frame satisfying `match` within timeoutMs; others are counted in `skipped`. */
  expect(match: (f: Uint8Array) => boolean, timeoutMs: number): Promise<Uint8Array>;
  /** Every frame that arrives within `ms` (for "nothing must arrive" checks). */
  collect(ms: number): Promise<Uint8Array[]>;
  /** Frames that arrived and did not match an `expect`. */
  readonly skipped: number;
  drain(): number;
  close(): void;
}

export function openFramePort(ns: string, ifname: string): FramePort {
  const sock: PacketSocket = ns ? inNetns(ns, () => packetSocket(ifname)) : packetSocket(ifname);
  let skipped = 0;
  return {
    ifname,
    ns,
    inject: (f) => sock.send(f),
    async expect(match, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0) throw new TimeoutError(`a matching frame on ${ifname}`, timeoutMs, `${skipped} other frames seen`);
        let f: Uint8Array;
        try {
          f = await sock.recv(left);
        } catch (err) {
          if (err instanceof TimeoutError) {
            throw new TimeoutError(`a matching frame on ${ifname}`, timeoutMs, `${skipped} other frames seen`);
          }
          throw err;
        }
        if (match(f)) return f;
        skipped++;
      }
    },
    async collect(ms) {
      const out: Uint8Array[] = [];
      const deadline = Date.now() + ms;
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0) return out;
        try {
          out.push(await sock.recv(left));
        } catch (err) {
          if (err instanceof TimeoutError) return out;
          throw err;
        }
      }
    },
    get skipped() {
      return skipped;
    },
    drain: () => sock.drain(),
    close: () => sock.close(),
  };
}
