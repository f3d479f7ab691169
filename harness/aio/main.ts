// The aio-tap backend process: parse and check the options (nothing is created before they are
// valid), open the tap queues, start the device, serve until a signal, print the counters.
import { CapabilityError } from '../core/errors.ts';
import type { Ledger } from '../core/ledger.ts';
import { ioUringAvailable } from '../sys/uring.ts';
import { linuxAioAvailable } from '../sys/aio.ts';
import type { AioOptions } from './options.ts';
import { openMacvtapPort, openTapPort, type TapPort } from './port.ts';
import { AioServer } from './server.ts';
import { featureNames } from '../virtio/features.ts';
import { STAT_NAMES, type StatName } from './dataplane/stats.ts';

function checkEngine(o: AioOptions): void {
  const r = o.engine === 'io_uring' ? ioUringAvailable() : linuxAioAvailable();
  if (r.ok) return;
  throw new CapabilityError(
    `--engine ${o.engine}: ${r.reason}`,
    o.engine === 'io_uring' ? 'use --engine linux-aio, or allow io_uring (sysctl kernel.io_uring_disabled=0, liburing2)' : 'use --engine io_uring, or install libaio1 and check fs.aio-max-nr',
  );
}

function openPort(o: AioOptions): TapPort {
  return o.device.kind === 'tap' ? openTapPort(o.device.name, o.queues) : openMacvtapPort(o.device.name, o.queues, o.device.node);
}

export function formatStats(s: Record<StatName, number>): string {
  return STAT_NAMES.filter((n) => s[n] !== 0)
    .map((n) => `${n}=${s[n]}`)
    .join(' ');
}

export async function runAioBackend(o: AioOptions, ledger: Ledger): Promise<void> {
  checkEngine(o);
  const log = (m: string) => process.stderr.write(`aio-tap: ${m}\n`);
  const port = openPort(o);
  let server: AioServer | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    ledger.add({ kind: 'file', path: o.socket });
    server = await AioServer.start({ socket: o.socket, port, engine: o.engine, batch: o.batch, rxDepth: o.rxDepth, log, verbose: o.verbose });
    log(`listening on ${o.socket}: ${port.kind} ${port.name}, ${o.queues} queue pair(s), engine ${o.engine}, batch ${o.batch}, rx depth ${o.rxDepth}, mtu ${port.mtu}`);
    log(`offering ${featureNames(server.offered).join(' ')}`);
    if (o.statsInterval > 0) timer = setInterval(() => log(`stats ${formatStats(server!.stats())}`), o.statsInterval * 1000);
    const stop = new Promise<void>((resolve) => {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
    });
    await Promise.race([server.serve(), stop]);
  } finally {
    if (timer) clearInterval(timer);
    if (server) {
      log(`stats ${formatStats(server.stats())}`);
      await server.close();
    }
    port.close();
  }
}
