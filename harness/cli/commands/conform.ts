// `vnetbench conform --dut DUT [...]`: the virtio conformance suite against one device.
// Everything is validated before anything is started (bad input: exit 2, nothing changed).
import type { Command } from 'commander';
import { DUT_FORMS } from '../../conform/dut.ts';

interface Flags {
  dut: string;
  wire?: string;
  wireNetns?: string;
  transport?: string;
  features?: string;
  only?: string;
  out?: string;
}

export function register(program: Command): void {
  program
    .command('conform')
    .description('check a virtio-net device against the virtio spec from the driver side (catalogue F/S/I/N/P/O/H/M + adversarial A)')
    .requiredOption('--dut <dut>', `device under test: ${DUT_FORMS}`)
    .option('--wire <loopback|ifname>', 'vhost-user:PATH only: the device reflects TX into RX (loopback), or the interface it is attached to (frames are injected and captured there); default: a probe looks for a loopback')
    .option('--wire-netns <ns>', 'the network namespace of --wire IFNAME')
    .option('--transport <t>', 'vhost-user or vhost-net (must match the device; default: the device\'s own)')
    .option('--features <list>', 'virtio features the suite may negotiate, comma-separated (e.g. VERSION_1,MRG_RXBUF,EVENT_IDX); default: all offered')
    .option('--only <ids>', 'requirement IDs or group letters, comma-separated (e.g. S4,N7 or A)')
    .option('--out <dir>', 'run directory to write (default: runs/conform-<time>-<pid>)')
    .action(async (flags: Flags) => {
      const { planConform, runConform } = await import('../../conform/command.ts');
      const plan = planConform(flags);
      const r = await runConform(plan, {
        out: (s) => process.stdout.write(s),
        err: (s) => process.stderr.write(s),
        width: process.stdout.columns ?? 140,
      });
      process.exitCode = r.exitCode;
    });
}
