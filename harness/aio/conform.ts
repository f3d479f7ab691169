// npm run conform:aio — the whole conformance suite (suites/conformance) against the aio-tap
// device with a wire the suite owns (conform-dut.ts), once per engine. Each run is written as a
// conformance run directory (the same format `vnetbench conform` writes) and printed as a table.
// Exit code 1 when a MUST requirement failed.
//
//   tsx harness/aio/conform.ts [--engine io_uring|linux-aio|both] [--only IDS] [--out DIR]
import path from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { UsageError, exitCodeFor, formatError } from '../core/errors.ts';
import { Ledger } from '../core/ledger.ts';
import { withLedger } from '../core/lifecycle.ts';
import { newRunId, RunWriter } from '../results/rundir.ts';
import { featureNames } from '../virtio/features.ts';
import { CHECKS, selectChecks } from '../../suites/conformance/index.ts';
import { runSuite } from '../conform/runner.ts';
import { conformanceTable, counts, mustFailures, progressLine } from '../conform/table.ts';
import { AioConformDut } from './conform-dut.ts';
import { ENGINE_NAMES, type EngineName } from './engines/types.ts';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

export interface AioConformResult {
  engine: EngineName;
  dir: string;
  counts: ReturnType<typeof counts>;
  mustFailed: string[];
}

export async function conformAio(engine: EngineName, only: string | undefined, out: string, say: (s: string) => void): Promise<AioConformResult> {
  const checks = selectChecks(only, CHECKS);
  return withLedger(Ledger.create(newRunId('conform-aio')), async (ledger) => {
    const t0 = performance.now();
    const dut = await AioConformDut.start({ ledger, engine });
    try {
      const w = RunWriter.create(out, {
        runId: path.basename(out),
        kind: 'conformance',
        tool: { version: pkg.version, node: process.version },
        versions: dut.versions,
        config: { dut: dut.name, transport: dut.transport, features: 'all offered', only: only ?? 'all', checks: checks.map((c) => c.id), offered: `0x${dut.offered.toString(16)}` },
        capabilities: [{ name: `conform:${dut.name}`, runnable: true, reason: dut.label }],
        commandLines: dut.commandLine ? { [dut.name]: dut.commandLine } : {},
      });
      say(`conform: ${dut.label}; offered ${featureNames(dut.offered).join(' ')}\n`);
      const result = await runSuite({ dut, checks, catalogue: CHECKS, onRecord: (r) => { w.record(r); say(`${progressLine(r)}\n`); }, log: (m) => say(`${m}\n`) });
      const c = counts(result.verdicts);
      const musts = mustFailures(result.verdicts).map((r) => r.requirement);
      w.manifest.config = { ...(w.manifest.config as object), durationMs: result.durationMs, restarts: result.restarts + dut.restarts, counts: c };
      w.finish('complete');
      say(`${conformanceTable(result.verdicts, process.stdout.columns ?? 140)}\n`);
      say(`${dut.name}: ${c.pass} pass, ${c.fail} fail, ${c.warn} warn, ${c.skip} skip — ${musts.length ? `MUST failed: ${musts.join(' ')}` : 'no MUST failed'}; ` +
        `suite ${(result.durationMs / 1000).toFixed(1)} s (${((performance.now() - t0) / 1000).toFixed(1)} s with start-up)${dut.restarts ? `; device restarted ${dut.restarts}×` : ''}\n  results: ${out}\n`);
      return { engine, dir: out, counts: c, mustFailed: musts };
    } finally {
      await dut.close();
    }
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { engine: { type: 'string', default: 'both' }, only: { type: 'string' }, out: { type: 'string' } } });
  const engines = values.engine === 'both' ? [...ENGINE_NAMES] : [values.engine as EngineName];
  if (!engines.every((e) => ENGINE_NAMES.includes(e))) throw new UsageError(`--engine ${values.engine}: use io_uring, linux-aio or both`);
  const base = values.out ?? path.join('runs', newRunId('conform-aio'));
  let failed = false;
  for (const e of engines) {
    const r = await conformAio(e, values.only, engines.length > 1 ? `${base}-${e}` : base, (s) => process.stdout.write(s));
    failed ||= r.mustFailed.length > 0;
  }
  return failed ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => (process.exitCode = code),
    (err) => {
      process.stderr.write(`Error: ${formatError(err)}\n`);
      process.exitCode = exitCodeFor(err);
    },
  );
}
