// An ARP exchange through a tap-like fd carrying virtio-net headers (a macvtap queue): write a
// request from the guest's MAC/IP, read frames until the peer's reply arrives. Proves the fd is
// wired to the wire without a guest.
import fs from 'node:fs';
import { libc, O_NONBLOCK } from '../../../harness/sys/libc.ts';

const F_GETFL = 3;
const F_SETFL = 4;

/** struct virtio_net_hdr without num_buffers: what a macvtap fd carries by default (10 bytes). */
export const VNET_HDR_LEN = 10;

const mac = (m: string) => Buffer.from(m.split(':').map((h) => parseInt(h, 16)));
const ip = (a: string) => Buffer.from(a.split('.').map(Number));

export function arpRequest(srcMac: string, srcIp: string, dstIp: string): Buffer {
  const eth = Buffer.concat([mac('ff:ff:ff:ff:ff:ff'), mac(srcMac), Buffer.from([0x08, 0x06])]);
  const arp = Buffer.concat([
    Buffer.from([0, 1, 8, 0, 6, 4, 0, 1]), // Ethernet, IPv4, hlen 6, plen 4, op request
    mac(srcMac), ip(srcIp), Buffer.alloc(6), ip(dstIp),
  ]);
  return Buffer.concat([Buffer.alloc(VNET_HDR_LEN), eth, arp]);
}

export interface ArpReply {
  senderMac: string;
  senderIp: string;
  targetMac: string;
}

export function parseArpReply(frame: Buffer): ArpReply | undefined {
  const f = frame.subarray(VNET_HDR_LEN);
  if (f.length < 42 || f.readUInt16BE(12) !== 0x0806 || f.readUInt16BE(20) !== 2) return undefined;
  const hex = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
  return { senderMac: hex(f.subarray(22, 28)), senderIp: [...f.subarray(28, 32)].join('.'), targetMac: hex(f.subarray(32, 38)) };
}

/** One frame from any of the fds, or undefined when none is waiting (fds are non-blocking). */
function readAny(fds: number[], buf: Buffer): Buffer | undefined {
  for (const fd of fds) {
    try {
      return buf.subarray(0, fs.readSync(fd, buf));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
  return undefined;
}

/**
 * Send a request on the first fd and wait (bounded) for the reply on any of them: with several
 * macvtap queues the kernel picks the queue a frame lands on. The fds are switched to
 * non-blocking for the exchange and back afterwards.
 */
export async function arpThroughFds(fds: number[], srcMac: string, srcIp: string, dstIp: string, timeoutMs = 10_000): Promise<ArpReply> {
  const saved = fds.map((fd) => libc.fcntl(fd, F_GETFL, 0));
  fds.forEach((fd, i) => libc.fcntl(fd, F_SETFL, saved[i]! | O_NONBLOCK));
  try {
    fs.writeSync(fds[0]!, arpRequest(srcMac, srcIp, dstIp));
    const buf = Buffer.alloc(65536);
    for (const t0 = Date.now(); Date.now() - t0 < timeoutMs; ) {
      const frame = readAny(fds, buf);
      if (!frame) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const r = parseArpReply(frame);
      if (r && r.senderIp === dstIp) return r;
    }
    throw new Error(`no ARP reply from ${dstIp} within ${timeoutMs} ms`);
  } finally {
    fds.forEach((fd, i) => libc.fcntl(fd, F_SETFL, saved[i]!));
  }
}
