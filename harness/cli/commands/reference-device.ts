// `vnetbench reference-device --socket PATH [--link none|loopback|tap:IFNAME] [--netns NS]
// [--fault FAULT[@first|@after:N]] [--verbose]`: the in-process reference virtio-net device (or
// one of its deliberately broken variants) as a vhost-user back-end, in the foreground until
// SIGINT or SIGTERM, so the conformance suite (or QEMU) can drive it over a socket. Bad input,
// a missing tap or namespace included, stops it before anything is created; the socket is
// recorded in this process's ledger before it is created.
import type { Command } from 'commander';
import { Ledger } from '../../core/ledger.ts';
import { shortId } from '../../core/names.ts';
import { withLedger } from '../../core/lifecycle.ts';
import type { RawReferenceDeviceFlags } from '../../vhost/reference-options.ts';

export function register(program: Command): void {
  program
    .command('reference-device')
    .description('serve the reference virtio-net device (optionally with one fault) as a vhost-user back-end')
    .option('--socket <path>', 'unix socket to listen on (vnetbench conform --dut vhost-user:PATH, or QEMU -chardev socket,path=PATH)')
    .option('--link <link>', 'none (default: TX dropped, no RX), loopback (TX comes back on RX), tap:IFNAME (an existing tap)')
    .option('--netns <ns>', 'network namespace the tap of --link tap:IFNAME is in')
    .option('--fault <fault>', 'a deliberate fault, FAULT[@first|@after:N] (default @always); see `conform --dut reference:<fault>`')
    .option('--verbose', 'log every vhost-user request')
    .action(async (flags: RawReferenceDeviceFlags) => {
      const { parseReferenceDeviceOptions } = await import('../../vhost/reference-options.ts');
      const { openLink } = await import('../../vhost/reference-link.ts');
      const { runReferenceDevice } = await import('../../vhost/reference-server.ts');
      const options = parseReferenceDeviceOptions(flags);
      const link = openLink(options.link); // a missing tap stops it here, before the ledger or the socket
      const ledger = Ledger.create(`refdev-${shortId()}`);
      await withLedger(ledger, (l) => runReferenceDevice(options, link, l));
    });
}
