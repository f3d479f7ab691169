// vhost-user message codec (qemu docs/interop/vhost-user.rst, "Message Specification" and
// "Front-end message types"). Pure functions from typed messages to bytes and back, shared by the
// front-end (driver side, vhost-user-frontend.ts) and by a device (back-end) implementation.
//
// Wire format: a 12-byte header {u32 request, u32 flags, u32 size} then `size` payload bytes, all
// in the machine's native byte order (the rings themselves are little-endian; this is not).
// File descriptors travel beside the bytes, as SCM_RIGHTS on the first byte (at most 8).
//
// `Messages` maps every request this codec knows to its request and reply payload types, and
// `CODECS` is a mapped type over it: adding a request without its codec is a compile error.
import os from 'node:os';

export const HEADER_SIZE = 12;
/** Largest payload we accept from a peer (the biggest union member is far smaller). */
export const MAX_PAYLOAD = 4096;
export const VERSION = 0x1;
export const FLAG_VERSION_MASK = 0x3;
export const FLAG_REPLY = 0x4;
export const FLAG_NEED_REPLY = 0x8;
export const MAX_MEM_REGIONS = 8;
/** SET_VRING_KICK/CALL/ERR u64: bits 0-7 ring index, bit 8 "no fd, poll instead". */
export const VRING_IDX_MASK = 0xff;
export const VRING_NOFD = 0x100;

const LE = os.endianness() === 'LE';

/** Front-end request codes (vhost-user.rst "Front-end message types"). */
export const Request = {
  GET_FEATURES: 1,
  SET_FEATURES: 2,
  SET_OWNER: 3,
  RESET_OWNER: 4,
  SET_MEM_TABLE: 5,
  SET_LOG_BASE: 6,
  SET_LOG_FD: 7,
  SET_VRING_NUM: 8,
  SET_VRING_ADDR: 9,
  SET_VRING_BASE: 10,
  GET_VRING_BASE: 11,
  SET_VRING_KICK: 12,
  SET_VRING_CALL: 13,
  SET_VRING_ERR: 14,
  GET_PROTOCOL_FEATURES: 15,
  SET_PROTOCOL_FEATURES: 16,
  GET_QUEUE_NUM: 17,
  SET_VRING_ENABLE: 18,
  SEND_RARP: 19,
  NET_SET_MTU: 20,
  SET_BACKEND_REQ_FD: 21,
  IOTLB_MSG: 22,
  SET_VRING_ENDIAN: 23,
  GET_CONFIG: 24,
  SET_CONFIG: 25,
  POSTCOPY_ADVISE: 28,
  POSTCOPY_LISTEN: 29,
  POSTCOPY_END: 30,
  GET_INFLIGHT_FD: 31,
  SET_INFLIGHT_FD: 32,
  RESET_DEVICE: 34,
  VRING_KICK: 35,
  GET_MAX_MEM_SLOTS: 36,
  ADD_MEM_REG: 37,
  REM_MEM_REG: 38,
  SET_STATUS: 39,
  GET_STATUS: 40,
} as const;
export type RequestName = keyof typeof Request;

const NAME_BY_CODE = new Map<number, RequestName>(
  (Object.entries(Request) as [RequestName, number][]).map(([k, v]) => [v, k]),
);
export function requestName(code: number): RequestName | undefined {
  return NAME_BY_CODE.get(code);
}

/** Protocol feature bits (vhost-user.rst "Protocol features"). */
export const ProtocolFeature = {
  MQ: 0,
  LOG_SHMFD: 1,
  RARP: 2,
  REPLY_ACK: 3,
  NET_MTU: 4,
  BACKEND_REQ: 5,
  CROSS_ENDIAN: 6,
  CRYPTO_SESSION: 7,
  PAGEFAULT: 8,
  CONFIG: 9,
  BACKEND_SEND_FD: 10,
  HOST_NOTIFIER: 11,
  INFLIGHT_SHMFD: 12,
  RESET_DEVICE: 13,
  INBAND_NOTIFICATIONS: 14,
  CONFIGURE_MEM_SLOTS: 15,
  STATUS: 16,
} as const;
export type ProtocolFeatureName = keyof typeof ProtocolFeature;

export function protocolFeatureNames(bits: bigint): string[] {
  const out: string[] = [];
  for (let b = 0; b < 64; b++) {
    if (!(bits & (1n << BigInt(b)))) continue;
    const name = (Object.entries(ProtocolFeature) as [string, number][]).find(([, v]) => v === b)?.[0];
    out.push(name ?? `bit${b}`);
  }
  return out;
}

// ---- payload types -------------------------------------------------------------------------

/** "A vring state description": u32 index, u32 num. */
export interface VringState {
  index: number;
  num: number;
}
/** "A vring address description" = struct vhost_vring_addr: u32 index, u32 flags, u64 desc, used, avail, log. */
export interface VringAddr {
  index: number;
  flags: number;
  desc: bigint;
  used: bigint;
  avail: bigint;
  log: bigint;
}
/** One region of "Memory regions description". */
export interface MemRegion {
  gpa: bigint;
  size: bigint;
  uva: bigint;
  mmapOffset: bigint;
}
export interface MemTable {
  regions: MemRegion[];
}
/** The u64 of SET_VRING_KICK/CALL/ERR. */
export interface VringFd {
  index: number;
  noFd: boolean;
}
/** "Log description": u64 size, u64 offset. */
export interface LogArea {
  size: bigint;
  offset: bigint;
}
/** struct vhost_iotlb_msg: u64 iova, size, uaddr; u8 perm, type (32 bytes with padding). */
export interface IotlbMsg {
  iova: bigint;
  size: bigint;
  uva: bigint;
  perm: number;
  type: number;
}
/** "Virtio device config space": u32 offset, size, flags; then `size` bytes. */
export interface ConfigSpace {
  offset: number;
  size: number;
  flags: number;
  data: Uint8Array;
}
/** "Inflight description": u64 mmap_size, mmap_offset; u16 num_queues, queue_size (24 bytes, C-aligned). */
export interface Inflight {
  mmapSize: bigint;
  mmapOffset: bigint;
  numQueues: number;
  queueSize: number;
}

/**
 * Request and reply payload per message. `reply: 'ack'` means no reply of its own: only a
 * REPLY_ACK u64 (0 = success) when the front-end set NEED_REPLY. `null` means no payload.
 */
export interface Messages {
  GET_FEATURES: { req: null; reply: bigint };
  SET_FEATURES: { req: bigint; reply: 'ack' };
  SET_OWNER: { req: null; reply: 'ack' };
  RESET_OWNER: { req: null; reply: 'ack' };
  SET_MEM_TABLE: { req: MemTable; reply: 'ack' };
  SET_LOG_BASE: { req: LogArea; reply: 'ack' };
  SET_LOG_FD: { req: null; reply: 'ack' };
  SET_VRING_NUM: { req: VringState; reply: 'ack' };
  SET_VRING_ADDR: { req: VringAddr; reply: 'ack' };
  SET_VRING_BASE: { req: VringState; reply: 'ack' };
  GET_VRING_BASE: { req: VringState; reply: VringState };
  SET_VRING_KICK: { req: VringFd; reply: 'ack' };
  SET_VRING_CALL: { req: VringFd; reply: 'ack' };
  SET_VRING_ERR: { req: VringFd; reply: 'ack' };
  GET_PROTOCOL_FEATURES: { req: null; reply: bigint };
  SET_PROTOCOL_FEATURES: { req: bigint; reply: 'ack' };
  GET_QUEUE_NUM: { req: null; reply: bigint };
  SET_VRING_ENABLE: { req: VringState; reply: 'ack' };
  SEND_RARP: { req: bigint; reply: 'ack' };
  NET_SET_MTU: { req: bigint; reply: 'ack' };
  SET_BACKEND_REQ_FD: { req: null; reply: 'ack' };
  IOTLB_MSG: { req: IotlbMsg; reply: bigint };
  SET_VRING_ENDIAN: { req: VringState; reply: 'ack' };
  GET_CONFIG: { req: ConfigSpace; reply: ConfigSpace };
  SET_CONFIG: { req: ConfigSpace; reply: 'ack' };
  POSTCOPY_ADVISE: { req: null; reply: null };
  POSTCOPY_LISTEN: { req: null; reply: 'ack' };
  POSTCOPY_END: { req: null; reply: bigint };
  GET_INFLIGHT_FD: { req: Inflight; reply: Inflight };
  SET_INFLIGHT_FD: { req: Inflight; reply: 'ack' };
  RESET_DEVICE: { req: null; reply: 'ack' };
  VRING_KICK: { req: VringState; reply: 'ack' };
  GET_MAX_MEM_SLOTS: { req: null; reply: bigint };
  ADD_MEM_REG: { req: MemRegion; reply: 'ack' };
  REM_MEM_REG: { req: MemRegion; reply: 'ack' };
  SET_STATUS: { req: bigint; reply: 'ack' };
  GET_STATUS: { req: null; reply: bigint };
}
// Every request code has an entry in Messages and vice versa.
type _Exhaustive = [RequestName] extends [keyof Messages] ? ([keyof Messages] extends [RequestName] ? true : never) : never;
const _exhaustive: _Exhaustive = true;
void _exhaustive;

export type RequestPayload<K extends RequestName> = Messages[K]['req'];
/** What a reply to K carries: its own payload, or the REPLY_ACK u64. */
export type ReplyPayload<K extends RequestName> = Messages[K]['reply'] extends 'ack' ? bigint : Messages[K]['reply'];

/** A decoded front-end request: a discriminated union on `name`. */
export type RequestMessage = {
  [K in RequestName]: { name: K; code: (typeof Request)[K]; flags: number; payload: RequestPayload<K>; fds: number[] };
}[RequestName];

/** A decoded reply: a discriminated union on `name` (the request it answers). */
export type ReplyMessage = {
  [K in RequestName]: { name: K; flags: number; payload: ReplyPayload<K>; fds: number[] };
}[RequestName];

/** A request code this codec does not know; kept whole so a device can answer it. */
export interface UnknownMessage {
  name: 'UNKNOWN';
  code: number;
  flags: number;
  payload: Uint8Array;
  fds: number[];
}

/** The peer sent something that does not match the layout in vhost-user.rst. */
export class VhostUserProtocolError extends Error {
  override readonly name = 'VhostUserProtocolError';
}

// ---- payload codecs ------------------------------------------------------------------------

interface PayloadCodec<T> {
  /** Bytes this value encodes to. */
  size(v: T): number;
  encode(v: T, dv: DataView, off: number): void;
  /** Decode `size` bytes; throws VhostUserProtocolError naming the field that is wrong. */
  decode(dv: DataView, off: number, size: number, what: string): T;
}

function needSize(what: string, size: number, min: number, max = min): void {
  if (size < min || size > max) {
    throw new VhostUserProtocolError(
      `${what}: payload size ${size}, expected ${min === max ? min : `${min}..${max}`} (vhost-user.rst Message Specification)`,
    );
  }
}

const none: PayloadCodec<null> = {
  size: () => 0,
  encode: () => {},
  decode: (_dv, _off, size, what) => {
    // Some front-ends send a zeroed u64 with payload-less requests; tolerate exactly that.
    if (size !== 0 && size !== 8) needSize(what, size, 0);
    return null;
  },
};

const u64: PayloadCodec<bigint> = {
  size: () => 8,
  encode: (v, dv, off) => dv.setBigUint64(off, v, LE),
  decode: (dv, off, size, what) => {
    needSize(what, size, 8);
    return dv.getBigUint64(off, LE);
  },
};

const vringState: PayloadCodec<VringState> = {
  size: () => 8,
  encode: (v, dv, off) => {
    dv.setUint32(off, v.index, LE);
    dv.setUint32(off + 4, v.num, LE);
  },
  decode: (dv, off, size, what) => {
    needSize(what, size, 8);
    return { index: dv.getUint32(off, LE), num: dv.getUint32(off + 4, LE) };
  },
};

const vringAddr: PayloadCodec<VringAddr> = {
  size: () => 40,
  encode: (v, dv, off) => {
    dv.setUint32(off, v.index, LE);
    dv.setUint32(off + 4, v.flags, LE);
    dv.setBigUint64(off + 8, v.desc, LE);
    dv.setBigUint64(off + 16, v.used, LE);
    dv.setBigUint64(off + 24, v.avail, LE);
    dv.setBigUint64(off + 32, v.log, LE);
  },
  decode: (dv, off, size, what) => {
    needSize(what, size, 40);
    return {
      index: dv.getUint32(off, LE),
      flags: dv.getUint32(off + 4, LE),
      desc: dv.getBigUint64(off + 8, LE),
      used: dv.getBigUint64(off + 16, LE),
      avail: dv.getBigUint64(off + 24, LE),
      log: dv.getBigUint64(off + 32, LE),
    };
  },
};

function encodeRegion(r: MemRegion, dv: DataView, off: number): void {
  dv.setBigUint64(off, r.gpa, LE);
  dv.setBigUint64(off + 8, r.size, LE);
  dv.setBigUint64(off + 16, r.uva, LE);
  dv.setBigUint64(off + 24, r.mmapOffset, LE);
}
function decodeRegion(dv: DataView, off: number): MemRegion {
  return {
    gpa: dv.getBigUint64(off, LE),
    size: dv.getBigUint64(off + 8, LE),
    uva: dv.getBigUint64(off + 16, LE),
    mmapOffset: dv.getBigUint64(off + 24, LE),
  };
}

const memTable: PayloadCodec<MemTable> = {
  // QEMU sends only the regions in use: 8 + 32 * nregions.
  size: (v) => 8 + 32 * v.regions.length,
  encode: (v, dv, off) => {
    if (v.regions.length > MAX_MEM_REGIONS) {
      throw new RangeError(`SET_MEM_TABLE: ${v.regions.length} regions, the protocol allows ${MAX_MEM_REGIONS}`);
    }
    dv.setUint32(off, v.regions.length, LE);
    dv.setUint32(off + 4, 0, LE);
    v.regions.forEach((r, i) => encodeRegion(r, dv, off + 8 + 32 * i));
  },
  decode: (dv, off, size, what) => {
    if (size < 8) needSize(what, size, 8, 8 + 32 * MAX_MEM_REGIONS);
    const n = dv.getUint32(off, LE);
    if (n > MAX_MEM_REGIONS) throw new VhostUserProtocolError(`${what}: nregions ${n} exceeds ${MAX_MEM_REGIONS}`);
    // Accept the full fixed-size union too (8 regions' worth) as some front-ends send it.
    needSize(what, size, 8 + 32 * n, 8 + 32 * MAX_MEM_REGIONS);
    return { regions: Array.from({ length: n }, (_, i) => decodeRegion(dv, off + 8 + 32 * i)) };
  },
};

const singleRegion: PayloadCodec<MemRegion> = {
  size: () => 40,
  encode: (v, dv, off) => {
    dv.setBigUint64(off, 0n, LE); // 64-bit padding
    encodeRegion(v, dv, off + 8);
  },
  decode: (dv, off, size, what) => {
    needSize(what, size, 40);
    return decodeRegion(dv, off + 8);
  },
};

const vringFd: PayloadCodec<VringFd> = {
  size: () => 8,
  encode: (v, dv, off) => dv.setBigUint64(off, BigInt((v.index & VRING_IDX_MASK) | (v.noFd ? VRING_NOFD : 0)), LE),
  decode: (dv, off, size, what) => {
    needSize(what, size, 8);
    const raw = dv.getBigUint64(off, LE);
    return { index: Number(raw & BigInt(VRING_IDX_MASK)), noFd: (raw & BigInt(VRING_NOFD)) !== 0n };
  },
};

const logArea: PayloadCodec<LogArea> = {
  size: () => 16,
  encode: (v, dv, off) => {
    dv.setBigUint64(off, v.size, LE);
    dv.setBigUint64(off + 8, v.offset, LE);
  },
  decode: (dv, off, size, what) => {
    needSize(what, size, 16);
    return { size: dv.getBigUint64(off, LE), offset: dv.getBigUint64(off + 8, LE) };
  },
};

const iotlb: PayloadCodec<IotlbMsg> = {
  size: () => 32,
  encode: (v, dv, off) => {
    dv.setBigUint64(off, v.iova, LE);
    dv.setBigUint64(off + 8, v.size, LE);
    dv.setBigUint64(off + 16, v.uva, LE);
    dv.setUint8(off + 24, v.perm);
    dv.setUint8(off + 25, v.type);
  },
  decode: (dv, off, size, what) => {
    needSize(what, size, 26, 32);
    return {
      iova: dv.getBigUint64(off, LE),
      size: dv.getBigUint64(off + 8, LE),
      uva: dv.getBigUint64(off + 16, LE),
      perm: dv.getUint8(off + 24),
      type: dv.getUint8(off + 25),
    };
  },
};

/** Config space is at most 256 bytes (VHOST_USER_MAX_CONFIG_SIZE in QEMU). */
const MAX_CONFIG = 256;
const config: PayloadCodec<ConfigSpace> = {
  size: (v) => 12 + v.data.length,
  encode: (v, dv, off) => {
    dv.setUint32(off, v.offset, LE);
    dv.setUint32(off + 4, v.size, LE);
    dv.setUint32(off + 8, v.flags, LE);
    new Uint8Array(dv.buffer, dv.byteOffset + off + 12, v.data.length).set(v.data);
  },
  decode: (dv, off, size, what) => {
    needSize(what, size, 12, 12 + MAX_CONFIG);
    const cfgSize = dv.getUint32(off + 4, LE);
    if (cfgSize > size - 12) {
      throw new VhostUserProtocolError(`${what}: config size ${cfgSize} exceeds the ${size - 12} bytes sent`);
    }
    return {
      offset: dv.getUint32(off, LE),
      size: cfgSize,
      flags: dv.getUint32(off + 8, LE),
      data: new Uint8Array(dv.buffer.slice(dv.byteOffset + off + 12, dv.byteOffset + off + 12 + cfgSize)),
    };
  },
};

const inflight: PayloadCodec<Inflight> = {
  size: () => 24,
  encode: (v, dv, off) => {
    dv.setBigUint64(off, v.mmapSize, LE);
    dv.setBigUint64(off + 8, v.mmapOffset, LE);
    dv.setUint16(off + 16, v.numQueues, LE);
    dv.setUint16(off + 18, v.queueSize, LE);
    dv.setUint32(off + 20, 0, LE);
  },
  decode: (dv, off, size, what) => {
    needSize(what, size, 20, 24);
    return {
      mmapSize: dv.getBigUint64(off, LE),
      mmapOffset: dv.getBigUint64(off + 8, LE),
      numQueues: dv.getUint16(off + 16, LE),
      queueSize: dv.getUint16(off + 18, LE),
    };
  },
};

type ReplyCodec<R> = R extends 'ack' ? null : PayloadCodec<R>;
type CodecTable = {
  [K in RequestName]: { req: PayloadCodec<Messages[K]['req']>; reply: ReplyCodec<Messages[K]['reply']> };
};

const CODECS: CodecTable = {
  GET_FEATURES: { req: none, reply: u64 },
  SET_FEATURES: { req: u64, reply: null },
  SET_OWNER: { req: none, reply: null },
  RESET_OWNER: { req: none, reply: null },
  SET_MEM_TABLE: { req: memTable, reply: null },
  SET_LOG_BASE: { req: logArea, reply: null },
  SET_LOG_FD: { req: none, reply: null },
  SET_VRING_NUM: { req: vringState, reply: null },
  SET_VRING_ADDR: { req: vringAddr, reply: null },
  SET_VRING_BASE: { req: vringState, reply: null },
  GET_VRING_BASE: { req: vringState, reply: vringState },
  SET_VRING_KICK: { req: vringFd, reply: null },
  SET_VRING_CALL: { req: vringFd, reply: null },
  SET_VRING_ERR: { req: vringFd, reply: null },
  GET_PROTOCOL_FEATURES: { req: none, reply: u64 },
  SET_PROTOCOL_FEATURES: { req: u64, reply: null },
  GET_QUEUE_NUM: { req: none, reply: u64 },
  SET_VRING_ENABLE: { req: vringState, reply: null },
  SEND_RARP: { req: u64, reply: null },
  NET_SET_MTU: { req: u64, reply: null },
  SET_BACKEND_REQ_FD: { req: none, reply: null },
  IOTLB_MSG: { req: iotlb, reply: u64 },
  SET_VRING_ENDIAN: { req: vringState, reply: null },
  GET_CONFIG: { req: config, reply: config },
  SET_CONFIG: { req: config, reply: null },
  POSTCOPY_ADVISE: { req: none, reply: none },
  POSTCOPY_LISTEN: { req: none, reply: null },
  POSTCOPY_END: { req: none, reply: u64 },
  GET_INFLIGHT_FD: { req: inflight, reply: inflight },
  SET_INFLIGHT_FD: { req: inflight, reply: null },
  RESET_DEVICE: { req: none, reply: null },
  VRING_KICK: { req: vringState, reply: null },
  GET_MAX_MEM_SLOTS: { req: none, reply: u64 },
  ADD_MEM_REG: { req: singleRegion, reply: null },
  REM_MEM_REG: { req: singleRegion, reply: null },
  SET_STATUS: { req: u64, reply: null },
  GET_STATUS: { req: none, reply: u64 },
};

/** True when the request is always answered (not only under REPLY_ACK + NEED_REPLY). */
export function hasOwnReply(name: RequestName): boolean {
  return CODECS[name].reply !== null;
}

// ---- header and whole messages -------------------------------------------------------------

export interface Header {
  request: number;
  flags: number;
  size: number;
}

export function encodeHeader(h: Header, dv: DataView, off = 0): void {
  dv.setUint32(off, h.request, LE);
  dv.setUint32(off + 4, h.flags, LE);
  dv.setUint32(off + 8, h.size, LE);
}

/** Parse and bound-check a header (size ≤ MAX_PAYLOAD, version 1). */
export function decodeHeader(bytes: Uint8Array): Header {
  if (bytes.length < HEADER_SIZE) throw new VhostUserProtocolError(`header: ${bytes.length} bytes, need ${HEADER_SIZE}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  const h = { request: dv.getUint32(0, LE), flags: dv.getUint32(4, LE), size: dv.getUint32(8, LE) };
  if ((h.flags & FLAG_VERSION_MASK) !== VERSION) {
    throw new VhostUserProtocolError(`header: version ${h.flags & FLAG_VERSION_MASK} in flags 0x${h.flags.toString(16)}, expected ${VERSION}`);
  }
  if (h.size > MAX_PAYLOAD) {
    throw new VhostUserProtocolError(`header: payload size ${h.size} exceeds the ${MAX_PAYLOAD}-byte limit (request ${h.request})`);
  }
  return h;
}

/** Bytes of one message: header then payload. */
function frame<T>(code: number, flags: number, codec: PayloadCodec<T>, payload: T): Uint8Array {
  const size = codec.size(payload);
  const bytes = new Uint8Array(HEADER_SIZE + size);
  const dv = new DataView(bytes.buffer);
  encodeHeader({ request: code, flags, size }, dv);
  codec.encode(payload, dv, HEADER_SIZE);
  return bytes;
}

export interface OutgoingRequest<K extends RequestName> {
  name: K;
  payload: RequestPayload<K>;
  /** Set NEED_REPLY (only meaningful with REPLY_ACK negotiated). */
  needReply?: boolean;
  /** Extra flag bits for adversarial tests; ORed in. */
  extraFlags?: number;
}

export function encodeRequest<K extends RequestName>(m: OutgoingRequest<K>): Uint8Array {
  const flags = VERSION | (m.needReply ? FLAG_NEED_REPLY : 0) | (m.extraFlags ?? 0);
  return frame(Request[m.name], flags, CODECS[m.name].req as PayloadCodec<RequestPayload<K>>, m.payload);
}

/** Decode a request whose header was already parsed (a device receiving from a front-end). */
export function decodeRequest(h: Header, payload: Uint8Array, fds: number[] = []): RequestMessage | UnknownMessage {
  const name = requestName(h.request);
  if (!name) return { name: 'UNKNOWN', code: h.request, flags: h.flags, payload, fds };
  if (payload.length !== h.size) {
    throw new VhostUserProtocolError(`${name}: ${payload.length} payload bytes, header says ${h.size}`);
  }
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const codec = CODECS[name].req as PayloadCodec<unknown>;
  const value = codec.decode(dv, 0, h.size, name);
  return { name, code: h.request, flags: h.flags, payload: value, fds } as RequestMessage;
}

/** A reply to `name` (device side): its own payload, flags = version | REPLY. */
export function encodeReply<K extends RequestName>(name: K, payload: ReplyPayload<K>): Uint8Array {
  const codec = (CODECS[name].reply ?? u64) as PayloadCodec<ReplyPayload<K>>;
  return frame(Request[name], VERSION | FLAG_REPLY, codec, payload);
}

/** The REPLY_ACK answer to a request that had NEED_REPLY: u64, 0 for success. */
export function encodeAck(name: RequestName, status: bigint): Uint8Array {
  return frame(Request[name], VERSION | FLAG_REPLY, u64, status);
}

/** Decode a reply to `name` (front-end side), checking the code and the REPLY flag. */
export function decodeReply<K extends RequestName>(name: K, h: Header, payload: Uint8Array): ReplyPayload<K> {
  if (h.request !== Request[name]) {
    const got = requestName(h.request) ?? `request ${h.request}`;
    throw new VhostUserProtocolError(`reply to ${name}: header names ${got} (code ${h.request}, expected ${Request[name]})`);
  }
  if (!(h.flags & FLAG_REPLY)) {
    throw new VhostUserProtocolError(`reply to ${name}: REPLY flag (bit 2) not set in flags 0x${h.flags.toString(16)}`);
  }
  const codec = (CODECS[name].reply ?? u64) as PayloadCodec<ReplyPayload<K>>;
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.length);
  return codec.decode(dv, 0, h.size, `reply to ${name}`);
}

/** A JSON-safe rendering of a payload for evidence (bigints as hex, bytes as hex). */
export function describePayload(v: unknown): unknown {
  if (typeof v === 'bigint') return `0x${v.toString(16)}`;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return v.map(describePayload);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, describePayload(x)]));
  }
  return v;
}
