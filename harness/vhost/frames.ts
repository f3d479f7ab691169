// Test frames that can be told apart from anything else on the wire: locally administered MACs,
// the IEEE local-experimental EtherType 0x88B5, a magic tag and a per-frame nonce.
export const TEST_ETHERTYPE = 0x88b5;
const MAGIC = Buffer.from('vnetbench');
export const DEVICE_MAC = Uint8Array.from([0x02, 0x76, 0x6e, 0x62, 0x00, 0x01]); // "vnb" driver side
export const PEER_MAC = Uint8Array.from([0x02, 0x76, 0x6e, 0x62, 0x00, 0x02]); // the probe side
const MIN_FRAME = 60; // without FCS

/** An Ethernet frame of `length` bytes (≥ 60) carrying `nonce`; the rest is a counting pattern. */
export function testFrame(nonce: number, length = 64, dst = PEER_MAC, src = DEVICE_MAC): Uint8Array {
  if (length < MIN_FRAME || length > 65535) throw new RangeError(`frame length ${length} must be 60..65535`);
  const f = new Uint8Array(length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = TEST_ETHERTYPE >> 8;
  f[13] = TEST_ETHERTYPE & 0xff;
  f.set(MAGIC, 14);
  new DataView(f.buffer).setUint32(14 + MAGIC.length, nonce >>> 0, false);
  for (let i = 14 + MAGIC.length + 4; i < length; i++) f[i] = i & 0xff;
  return f;
}

/** The nonce of a test frame, or undefined for any other frame. */
export function frameNonce(f: Uint8Array): number | undefined {
  if (f.length < MIN_FRAME || f[12] !== TEST_ETHERTYPE >> 8 || f[13] !== (TEST_ETHERTYPE & 0xff)) return undefined;
  if (!Buffer.from(f.buffer, f.byteOffset + 14, MAGIC.length).equals(MAGIC)) return undefined;
  return new DataView(f.buffer, f.byteOffset).getUint32(14 + MAGIC.length, false);
}

export const isTestFrame = (nonce: number) => (f: Uint8Array) => frameNonce(f) === nonce;
