// The far end of the reference back-end's wire. `none` drops what the device transmits and never
// delivers anything; `loopback` hands every transmitted frame back to the device's own RX (on a
// later turn of the event loop, so a TX drain never re-enters RX delivery); `tap` moves frames
// to and from an existing tap device (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, a 12-byte header, no
// offloads: the reference device offers none, so every header it writes or reads is zero).
import fs from 'node:fs';
import { UsageError, TimeoutError } from '../core/errors.ts';
import { openTapPort, type TapPort } from '../aio/port.ts';
import { libc, errno, E, SysError } from '../sys/libc.ts';
import { inNetns } from '../sys/netns.ts';
import { cancelWaits, waitFd } from '../sys/poll.ts';

export type LinkSpec = { kind: 'none' } | { kind: 'loopback' } | { kind: 'tap'; ifname: string; netns?: string };

export interface Link {
  /** "none", "loopback", "tap vnb0 in netns x". */
  readonly label: string;
  /** A frame the device transmitted. */
  send(frame: Uint8Array): void;
  /** Frames arriving from the link go to `deliver` from now on. */
  start(deliver: (frame: Uint8Array) => void): void;
  /** Frames sent, delivered, and lost (write failures). */
  readonly counts: { sent: number; delivered: number; lost: number };
  close(): void;
}

export function linkName(s: LinkSpec): string {
  return s.kind === 'tap' ? `tap:${s.ifname}` : s.kind;
}

/** Open the link; a tap that is missing or not a tap is a UsageError and nothing is created. */
export function openLink(s: LinkSpec): Link {
  switch (s.kind) {
    case 'none':
      return dropLink();
    case 'loopback':
      return loopbackLink();
    case 'tap':
      return tapLink(s.ifname, s.netns);
  }
}

function dropLink(): Link {
  const counts = { sent: 0, delivered: 0, lost: 0 };
  return { label: 'none', counts, send: () => void counts.lost++, start: () => undefined, close: () => undefined };
}

function loopbackLink(): Link {
  const counts = { sent: 0, delivered: 0, lost: 0 };
  let deliver: ((f: Uint8Array) => void) | undefined;
  let closed = false;
  return {
    label: 'loopback',
    counts,
    send(frame) {
      counts.sent++;
      setImmediate(() => {
        if (closed || !deliver) return void counts.lost++;
        counts.delivered++;
        deliver(frame);
      });
    },
    start: (d) => void (deliver = d),
    close: () => void (closed = true),
  };
}

const HDR = 12;
const MAX_FRAME = 65536;

function openExistingTap(ifname: string, netns: string | undefined): TapPort {
  const where = netns ? `in network namespace ${netns}` : 'in this network namespace';
  const open = () => {
    if (libc.if_nametoindex(ifname) === 0) {
      throw new UsageError(`--link tap:${ifname}: no interface ${ifname} ${where}`, `create it first: ${netns ? `ip -n ${netns} ` : 'ip '}tuntap add dev ${ifname} mode tap`);
    }
    try {
      return openTapPort(ifname, 1);
    } catch (e) {
      if (e instanceof UsageError) throw new UsageError(`--link tap:${ifname}: ${e.message.replace(/^--tap \S+: /, '')}`, 'name an existing tap device (ip tuntap add dev NAME mode tap)');
      if (e instanceof SysError && (e.code === 'EINVAL' || e.code === 'EBUSY')) {
        throw new UsageError(`--link tap:${ifname}: the kernel refused to attach (${e.message}): ${ifname} is not a tap device`, 'name a tap device (ip tuntap add dev NAME mode tap)');
      }
      throw e;
    }
  };
  if (!netns) return open();
  if (!fs.existsSync(`/run/netns/${netns}`)) throw new UsageError(`--netns ${netns}: no such network namespace (/run/netns/${netns} missing)`, 'create it first (ip netns add NAME) or leave out --netns');
  return inNetns(netns, open);
}

function tapLink(ifname: string, netns: string | undefined): Link {
  const port = openExistingTap(ifname, netns);
  const fd = port.fds[0]!;
  const counts = { sent: 0, delivered: 0, lost: 0 };
  const out = new Uint8Array(HDR + MAX_FRAME);
  const inBuf = new Uint8Array(HDR + MAX_FRAME);
  let closed = false;

  /** Read every queued frame; false once the fd failed. */
  const drain = (deliver: (f: Uint8Array) => void): boolean => {
    for (;;) {
      const n = libc.read(fd, inBuf, inBuf.length);
      if (n < 0) return errno() === E.EAGAIN;
      if (n === 0) return false;
      if (n <= HDR) continue; // a header without a frame
      counts.delivered++;
      deliver(inBuf.slice(HDR, n));
    }
  };
  const readLoop = async (deliver: (f: Uint8Array) => void) => {
    while (!closed && drain(deliver)) {
      try {
        await waitFd(fd, { readable: true }, 3_600_000, `a frame on tap ${ifname}`);
      } catch (e) {
        if (e instanceof TimeoutError) continue;
        return; // closed under us
      }
    }
  };
  return {
    label: `tap ${ifname}${netns ? ` in netns ${netns}` : ''}`,
    counts,
    send(frame) {
      if (closed || frame.length > MAX_FRAME) return void counts.lost++;
      out.fill(0, 0, HDR);
      out.set(frame, HDR);
      // A tap that is down (EIO) or full (EAGAIN) loses the frame, as a wire would.
      if (libc.write(fd, out, HDR + frame.length) < 0) counts.lost++;
      else counts.sent++;
    },
    start: (deliver) => void readLoop(deliver),
    close() {
      if (closed) return;
      closed = true;
      cancelWaits(fd);
      port.close();
    },
  };
}
