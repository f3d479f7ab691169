// An ARP exchange through a tap-like fd carrying virtio-net headers (a macvtap queue): write a
// request from the guest's MAC/IP, read frames until the peer's reply arrives. Proves the fd is
// wired to the wire without a guest.
import fs from 'node:fs';

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

const readAsync = (fd: number, buf: Buffer) =>
  new Promise<number>((res, rej) => fs.read(fd, buf, 0, buf.length, null, (e, n) => (e ? rej(e) : res(n))));

/** Send a request on fd and wait for the reply (frames that are not ARP replies are skipped). */
export async function arpThroughFd(fd: number, srcMac: string, srcIp: string, dstIp: string, maxFrames = 50): Promise<ArpReply> {
  fs.writeSync(fd, arpRequest(srcMac, srcIp, dstIp));
  const buf = Buffer.alloc(65536);
  for (let i = 0; i < maxFrames; i++) {
    const n = await readAsync(fd, buf);
    const r = parseArpReply(buf.subarray(0, n));
    if (r && r.senderIp === dstIp) return r;
  }
  throw new Error(`no ARP reply from ${dstIp} in ${maxFrames} frames`);
}
