// `vnetbench backend aio-tap --socket PATH (--tap IFNAME | --macvtap IFNAME) [--engine ...]
// [--batch N] [--queues N]`: run the aio-tap vhost-user device in the foreground until SIGINT or
// SIGTERM. The socket is recorded in this process's ledger before it is created, so a crash
// leaves a record `vnetbench cleanup` acts on. A tap it has to create itself is non-persistent
// and disappears with the process, so it needs no record.
import type { Command } from 'commander';
import { Ledger } from '../../core/ledger.ts';
import { shortId } from '../../core/names.ts';
import { withLedger } from '../../core/lifecycle.ts';
import type { RawAioFlags } from '../../aio/options.ts';

export function register(program: Command): void {
  const backend = program.command('backend').description('run a vnetbench host backend in the foreground');
  backend
    .command('aio-tap')
    .description('vhost-user virtio-net device moving guest buffers to a tap or macvtap with batched asynchronous I/O (io_uring or Linux AIO)')
    .option('--socket <path>', 'unix socket to listen on (QEMU: -chardev socket,path=PATH -netdev vhost-user,chardev=...)')
    .option('--tap <ifname>', 'tap device (created if missing, non-persistent)')
    .option('--macvtap <ifname>', 'macvtap device (its /dev/tap<ifindex> is opened once per queue pair)')
    .option('--macvtap-node <path>', 'character device of the macvtap, when not /dev/tap<ifindex>')
    .option('--engine <name>', 'io_uring (default) or linux-aio')
    .option('--batch <n>', 'TX writes in flight per queue pair, the most per submit (default 32)')
    .option('--queues <n>', 'queue pairs (default 1; a tap for more than one must be multi_queue)')
    .option('--rx-depth <n>', 'RX reads kept posted per queue pair (default min(batch, 16))')
    .option('--stats-interval <s>', 'print counters every S seconds (default: only at exit)')
    .option('--verbose', 'log every vhost-user request')
    .action(async (flags: RawAioFlags) => {
      const { runAioBackend } = await import('../../aio/main.ts');
      const { parseAioOptions } = await import('../../aio/options.ts');
      const options = parseAioOptions(flags); // bad input stops here, before anything exists
      const ledger = Ledger.create(`aio-${shortId()}`);
      await withLedger(ledger, (l) => runAioBackend(options, l));
    });
}
