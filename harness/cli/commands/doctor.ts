// `vnetbench doctor [--json]`: what this host can do, each line with its evidence, then which
// backends can run and why not. Progress goes to stderr, the report to stdout.
// The probes load koffi and friends, so they are imported when the command runs, not when the
// CLI starts.
import type { Command } from 'commander';

interface DoctorFlags {
  json?: boolean;
  cache?: boolean;
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('probe what this host can run (tap, macvtap, vhost-net, io_uring, KVM vs TCG, tools, NICs) and which backends are runnable')
    .option('--json', 'print one JSON document instead of text')
    .option('--no-cache', 'boot the KVM/TCG probe again instead of reusing this boot\'s verdict')
    .action(async (flags: DoctorFlags) => {
      const { probeHost } = await import('../../doctor/probe.ts');
      const { doctorDocument, doctorText } = await import('../../doctor/report.ts');
      const t0 = Date.now();
      const caps = await probeHost({ useCache: flags.cache, log: (l) => process.stderr.write(`doctor: ${l}\n`) });
      process.stderr.write(`doctor: finished in ${Date.now() - t0} ms\n`);
      process.stdout.write(flags.json ? `${JSON.stringify(doctorDocument(caps), null, 2)}\n` : doctorText(caps, process.stdout.columns ?? 120));
    });
}
