// What every vhost-user device back-end here shares (the aio-tap device, the reference back-end):
// the refusal error, the wrapper that logs requests and closes fds a handler did not take, the
// requests neither device supports, and the checks on ring requests. A refusal says what was
// wrong and where, like libvhost-user's vu_panic messages, and becomes REPLY_ACK status 1.
import { F, has } from '../virtio/features.ts';
import { closeQuiet } from '../sys/libc.ts';
import { describePayload, type RequestName } from './vhost-user-codec.ts';
import type { DeviceHandlers, HandlerResult, RequestOf } from './vhost-user-device-io.ts';

/** A front-end request the device refuses. */
export class Refused extends Error {
  override readonly name = 'Refused';
}

/** One handler per request, typed per request (a missing one does not compile). */
export type HandlerTable = { [K in RequestName]: (m: RequestOf<K>) => Promise<HandlerResult<K>> | HandlerResult<K> };

export interface HandlerLog {
  log(message: string): void;
  /** Log every request (name and payload). */
  verbose?: boolean;
}

/** The table as DeviceHandlers: requests logged when verbose, refusals logged, fds a handler did not take closed. */
export function wrapHandlers(table: HandlerTable, o: HandlerLog): DeviceHandlers {
  const wrapped: Record<string, (m: { fds: number[] }) => Promise<unknown>> = {};
  for (const [name, h] of Object.entries(table) as [string, (m: { fds: number[] }) => unknown][]) {
    wrapped[name] = async (m) => {
      if (o.verbose) o.log(`<- ${name} ${JSON.stringify(describePayload((m as { payload?: unknown }).payload))}${m.fds.length ? ` +${m.fds.length} fd` : ''}`);
      try {
        return await h(m);
      } catch (e) {
        o.log(`refused: ${(e as Error).message}`);
        throw e;
      } finally {
        // fds a handler did not take are closed, whatever happened.
        m.fds.splice(0).forEach(closeQuiet);
      }
    };
  }
  return wrapped as unknown as DeviceHandlers;
}

function refuse(what: string): () => never {
  return () => {
    throw new Refused(`${what} is not supported by this device (the matching feature is not offered)`);
  };
}

/**
 * Requests for protocol features neither device offers. Requests with their own reply cannot
 * fail in-band: they answer with the value that means "no" (IOTLB_MSG, POSTCOPY_END: 1; an empty
 * config space; 8 memory slots) or, for the fd-carrying ones, refuse by ending the connection.
 */
export const UNOFFERED_REQUESTS = {
  SET_LOG_BASE: refuse('SET_LOG_BASE (dirty logging)'),
  SET_LOG_FD: refuse('SET_LOG_FD (dirty logging)'),
  SEND_RARP: refuse('SEND_RARP'),
  NET_SET_MTU: refuse('NET_SET_MTU'),
  SET_BACKEND_REQ_FD: refuse('SET_BACKEND_REQ_FD (back-end requests)'),
  IOTLB_MSG: () => 1n,
  SET_VRING_ENDIAN: refuse('SET_VRING_ENDIAN (legacy cross-endian rings)'),
  GET_CONFIG: (m: RequestOf<'GET_CONFIG'>) => ({ offset: m.payload.offset, size: 0, flags: m.payload.flags, data: new Uint8Array(0) }),
  SET_CONFIG: refuse('SET_CONFIG'),
  POSTCOPY_ADVISE: refuse('POSTCOPY_ADVISE'),
  POSTCOPY_LISTEN: refuse('POSTCOPY_LISTEN'),
  POSTCOPY_END: () => 1n,
  GET_INFLIGHT_FD: refuse('GET_INFLIGHT_FD (inflight tracking)'),
  SET_INFLIGHT_FD: refuse('SET_INFLIGHT_FD (inflight tracking)'),
  VRING_KICK: refuse('VRING_KICK (in-band notifications)'),
  GET_MAX_MEM_SLOTS: () => 8n,
  ADD_MEM_REG: refuse('ADD_MEM_REG (configurable memory slots)'),
  REM_MEM_REG: refuse('REM_MEM_REG (configurable memory slots)'),
} satisfies Partial<HandlerTable>;

const MAX_RING = 32768;
const VHOST_VRING_F_LOG = 1;

/** SET_VRING_NUM: a power of 2 up to 32768 for split rings (§2.7), any size up to 32768 for packed (§2.8). */
export function checkRingSize(index: number, num: number, features: bigint): void {
  const packed = has(features, F.F_RING_PACKED);
  if (!Number.isInteger(num) || num < 1 || num > MAX_RING || (!packed && (num & (num - 1)) !== 0)) {
    throw new Refused(`SET_VRING_NUM ring ${index}: size ${num} is not ${packed ? '1..32768' : 'a power of 2 in 1..32768'} (virtio §${packed ? '2.8' : '2.7'})`);
  }
}

/** SET_VRING_ADDR: no dirty logging, and all three areas are user addresses in the memory table. */
export function checkRingAddr(a: RequestOf<'SET_VRING_ADDR'>['payload'], table: { uvaToGpa(uva: bigint, len: number): number | undefined } | undefined): void {
  if (a.flags & VHOST_VRING_F_LOG) throw new Refused(`SET_VRING_ADDR ring ${a.index}: VHOST_VRING_F_LOG set, but dirty logging is not supported`);
  if (!table) throw new Refused(`SET_VRING_ADDR ring ${a.index}: no memory table yet (send SET_MEM_TABLE first)`);
  for (const [field, uva] of [['desc', a.desc], ['avail', a.avail], ['used', a.used]] as const) {
    if (table.uvaToGpa(uva, 1) === undefined) {
      throw new Refused(`SET_VRING_ADDR ring ${a.index}: ${field} address 0x${uva.toString(16)} is not a user address in the memory table`);
    }
  }
}

/** SET_VRING_KICK/CALL/ERR: the fd it carries (-1 for "no fd"); a kick fd is required (no polling mode). */
export function ringFdOf(which: 'kick' | 'call' | 'err', m: RequestOf<'SET_VRING_KICK' | 'SET_VRING_CALL' | 'SET_VRING_ERR'>): number {
  const what = `SET_VRING_${which.toUpperCase()}`;
  if (m.payload.noFd && which === 'kick') throw new Refused(`${what} ring ${m.payload.index}: polling mode (no kick fd) is not supported`);
  if (!m.payload.noFd && m.fds.length !== 1) throw new Refused(`${what} ring ${m.payload.index}: expected 1 fd, got ${m.fds.length}`);
  return m.payload.noFd ? -1 : m.fds.shift()!;
}

/**
 * SET_VRING_ENABLE: only with VHOST_USER_F_PROTOCOL_FEATURES offered, state 0 or 1. "Negotiated"
 * is taken as offered: QEMU sends SET_VRING_ENABLE before SET_FEATURES, having checked only that
 * GET_FEATURES had bit 30.
 */
export function checkVringEnable(index: number, num: number, offered: bigint): boolean {
  if (!has(offered, F.VHOST_USER_F_PROTOCOL_FEATURES)) {
    throw new Refused(`SET_VRING_ENABLE ring ${index}: VHOST_USER_F_PROTOCOL_FEATURES (bit 30) not offered, so rings are always enabled`);
  }
  if (num !== 0 && num !== 1) throw new Refused(`SET_VRING_ENABLE ring ${index}: state ${num} is neither 0 nor 1`);
  return num === 1;
}
