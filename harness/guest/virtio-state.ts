// The virtio-net queues of a running guest, read through QMP: QEMU's own view of each queue
// (x-query-virtio-queue-status, QEMU >= 7.0; userspace virtio only) and the split-ring fields in
// guest memory (`xp` through human-monitor-command), which every backend shares, vhost-user too.
// Two reads a moment apart feed judgeQueue, which names the side that dropped a notification.
import { judgeQueue, type QueueSnapshot, type QueueVerdict } from '../virtio/queue-verdict.ts';
import type { QmpClient } from './qmp.ts';

export interface VirtioNetState {
  path: string;
  features: string[];
  queues: QueueSnapshot[];
}

interface QueueStatus {
  name: string;
  'queue-index': number;
  inuse: number;
  'vring-num': number;
  'vring-avail': number;
  'vring-used': number;
  'last-avail-idx'?: number;
  'shadow-avail-idx'?: number;
  'used-idx': number;
  'signalled-used': number;
  'signalled-used-valid': boolean;
}

interface VhostQueueStatus {
  'avail-phys': number;
  'used-phys': number;
  num: number;
}

/** `xp /Nhx ADDR` output ("0000000001234000: 0x0001 0x0034\r\n...") -> the 16-bit values. */
export function parseXpHalfwords(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^[0-9a-f]+:\s*(.*)$/i.exec(line.trim());
    if (!m) continue;
    for (const w of m[1]!.trim().split(/\s+/)) if (/^0x[0-9a-f]+$/i.test(w)) out.push(parseInt(w, 16));
  }
  return out;
}

/** Feature names QEMU decodes ("VIRTIO_RING_F_EVENT_IDX: Used & avail. event fields enabled"). */
export function featureNames(status: unknown): string[] {
  const gf = (status as { 'guest-features'?: { transports?: string[]; 'dev-features'?: string[] } })['guest-features'];
  return [...(gf?.transports ?? []), ...(gf?.['dev-features'] ?? [])].map((s) => s.split(':')[0]!.trim());
}

/** Stall diagnosis must not wait long on a QEMU that does not answer. */
const QMP_MS = 5000;
const ask = (qmp: QmpClient, command: string, args?: Record<string, unknown>) => qmp.execute(command, args, QMP_MS);

async function halfwords(qmp: QmpClient, addr: number, count: number): Promise<number[]> {
  const text = (await ask(qmp, 'human-monitor-command', { 'command-line': `xp /${count}hx 0x${addr.toString(16)}` })) as string;
  const v = parseXpHalfwords(text);
  if (v.length < count) throw new Error(`xp at 0x${addr.toString(16)} gave ${v.length} of ${count} values: ${text.slice(0, 200)}`);
  return v;
}

/** The split-ring fields of one queue, from guest memory. */
async function ringFields(qmp: QmpClient, avail: number, used: number, num: number) {
  const [availFlags, availIdx] = await halfwords(qmp, avail, 2);
  const [usedEvent] = await halfwords(qmp, avail + 4 + 2 * num, 1);
  const [usedFlags, usedIdx] = await halfwords(qmp, used, 2);
  const [availEvent] = await halfwords(qmp, used + 4 + 8 * num, 1);
  return { availFlags: availFlags!, availIdx: availIdx!, usedEvent: usedEvent!, usedFlags: usedFlags!, usedIdx: usedIdx!, availEvent: availEvent! };
}

async function netPath(qmp: QmpClient): Promise<string> {
  const devices = (await ask(qmp, 'x-query-virtio')) as { path: string; name: string }[];
  const net = devices.find((d) => d.name === 'virtio-net');
  if (!net) throw new Error(`no virtio-net device in x-query-virtio (${devices.map((d) => d.name).join(', ')})`);
  return net.path;
}

/** Every queue of the guest's virtio-net device except the control queue. */
export async function readVirtioNet(qmp: QmpClient): Promise<VirtioNetState> {
  const path = await netPath(qmp);
  const status = (await ask(qmp, 'x-query-virtio-status', { path })) as { 'num-vqs': number; 'vhost-dev'?: unknown };
  const features = featureNames(status);
  const eventIdx = features.includes('VIRTIO_RING_F_EVENT_IDX');
  const vhost = status['vhost-dev'] !== undefined;
  const queues: QueueSnapshot[] = [];
  // rx0, tx0, rx1, tx1, ..., ctrl: the last odd one out is the control queue.
  const dataQueues = status['num-vqs'] - (status['num-vqs'] % 2 === 1 ? 1 : 0);
  for (let i = 0; i < dataQueues; i++) {
    const name = `${i % 2 === 0 ? 'rx' : 'tx'}${i >> 1}`;
    if (vhost) {
      const s = (await ask(qmp, 'x-query-virtio-vhost-queue-status', { path, queue: i })) as VhostQueueStatus;
      queues.push({ name, num: s.num, eventIdx, ...(await ringFields(qmp, s['avail-phys'], s['used-phys'], s.num)) });
      continue;
    }
    const s = (await ask(qmp, 'x-query-virtio-queue-status', { path, queue: i })) as QueueStatus;
    queues.push({
      name,
      num: s['vring-num'],
      eventIdx,
      ...(await ringFields(qmp, s['vring-avail'], s['vring-used'], s['vring-num'])),
      device: {
        lastAvailIdx: s['last-avail-idx'] ?? s['used-idx'],
        inuse: s.inuse,
        signalledUsed: s['signalled-used'],
        signalledUsedValid: s['signalled-used-valid'],
      },
    });
  }
  return { path, features, queues };
}

export interface QueueReport {
  first: VirtioNetState;
  second: VirtioNetState;
  verdicts: QueueVerdict[];
}

/** Two reads `gapMs` apart and the verdict per queue. */
export async function diagnoseQueues(qmp: QmpClient, gapMs = 1000): Promise<QueueReport> {
  const first = await readVirtioNet(qmp);
  await new Promise((r) => setTimeout(r, gapMs));
  const second = await readVirtioNet(qmp);
  const verdicts = second.queues.map((q, i) => judgeQueue(first.queues[i] ?? q, q));
  return { first, second, verdicts };
}
