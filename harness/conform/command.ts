// `vnetbench conform`: validate everything the user typed (no side effects), start the DUT, run the
// checks, append each record (and each requirement another check saw broken) to the run directory
// as it is produced, print one verdict per requirement. Exit code 1 when any MUST requirement
// failed — by its own check or seen broken during another — 0 otherwise; bad input is a
// UsageError (exit 2).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { UsageError } from '../core/errors.ts';
import { Ledger } from '../core/ledger.ts';
import { onInterrupt, withLedger } from '../core/lifecycle.ts';
import { newRunId, RunWriter } from '../results/rundir.ts';
import type { ConformanceFindingRecord, ConformanceRecord } from '../results/types.ts';
import { F, bit, featureNames, has } from '../virtio/features.ts';
import { CHECKS, selectChecks } from '../../suites/conformance/index.ts';
import { dutName, parseConformDut, startConformDut, type ConformDutSpec, type WireSpec } from './dut.ts';
import { runSuite } from './runner.ts';
import { conformanceTable, counts, mustFailures, progressLine } from './table.ts';
import type { Check } from './types.ts';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

export interface ConformFlags {
  dut: string;
  wire?: string;
  wireNetns?: string;
  transport?: string;
  features?: string;
  only?: string;
  out?: string;
}

export interface ConformPlan {
  spec: ConformDutSpec;
  checks: Check[];
  allowed: bigint | undefined;
  out: string;
  flags: ConformFlags;
}

const TRANSPORT_OF: Record<ConformDutSpec['kind'], string> = {
  reference: 'in-process',
  testpmd: 'vhost-user',
  'vhost-user': 'vhost-user',
  'vhost-net': 'vhost-net',
};

/** Feature names as the user may write them: VERSION_1, F_VERSION_1, VIRTIO_F_VERSION_1, MRG_RXBUF ... */
export function parseFeatureList(text: string): bigint {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (!names.length) throw new UsageError('--features is empty', 'give feature names, e.g. --features VERSION_1,MRG_RXBUF,EVENT_IDX');
  const table = F as Record<string, number>;
  let mask = 0n;
  const unknown: string[] = [];
  for (const n of names) {
    const key = n.toUpperCase().replace(/^VIRTIO_/, '');
    const b = table[key] ?? table[`F_${key}`] ?? table[`NET_F_${key}`];
    if (b === undefined) unknown.push(n);
    else mask |= bit(b);
  }
  if (unknown.length) {
    const short = Object.keys(F).map((k) => k.replace(/^(NET_)?F_/, ''));
    throw new UsageError(`--features: unknown feature ${unknown.map((u) => JSON.stringify(u)).join(', ')}`, `known names: ${short.join(' ')}`);
  }
  if (!has(mask, F.F_VERSION_1)) throw new UsageError(`--features ${text} lacks VERSION_1`, 'the suite drives modern (VERSION_1) devices only: add VERSION_1 to the list');
  return mask;
}

/** --wire loopback | --wire IFNAME [--wire-netns NS]: names checked, nothing opened yet. */
export function parseWire(wire: string | undefined, netns: string | undefined): WireSpec {
  if (wire === undefined) throw new UsageError('--wire-netns needs --wire IFNAME', 'name the interface the device is attached to: --wire IFNAME --wire-netns NS');
  if (wire === 'loopback') {
    if (netns !== undefined) throw new UsageError('--wire-netns does not apply to --wire loopback', 'drop --wire-netns, or name an interface with --wire IFNAME');
    return { kind: 'loopback' };
  }
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(wire) || wire === '.' || wire === '..') {
    throw new UsageError(`--wire ${JSON.stringify(wire)}: not an interface name`, 'use loopback, or an interface name of 1-15 letters, digits and _.:@- (see `ip link`)');
  }
  if (netns !== undefined) {
    if (!/^[A-Za-z0-9_.-]+$/.test(netns) || netns === '.' || netns === '..') throw new UsageError(`--wire-netns ${JSON.stringify(netns)}: not a namespace name`, 'see `ip netns list`');
    if (!fs.existsSync(path.join('/run/netns', netns))) throw new UsageError(`--wire-netns ${netns}: no such network namespace`, 'see `ip netns list`');
  } else if (!fs.existsSync(path.join('/sys/class/net', wire))) {
    throw new UsageError(`--wire ${wire}: no such interface in this namespace`, 'check the name with `ip link`, or give its namespace with --wire-netns NS');
  }
  return { kind: 'interface', ifname: wire, ...(netns !== undefined ? { netns } : {}) };
}

/** Everything checked before anything is created. */
export function planConform(flags: ConformFlags): ConformPlan {
  const spec = parseConformDut(flags.dut);
  if (flags.transport !== undefined) {
    if (flags.transport !== 'vhost-user' && flags.transport !== 'vhost-net') {
      throw new UsageError(`--transport ${JSON.stringify(flags.transport)}: unknown transport`, 'use vhost-user or vhost-net');
    }
    const t = TRANSPORT_OF[spec.kind];
    if (t !== flags.transport) {
      throw new UsageError(`--dut ${flags.dut} is reached over ${t}, not ${flags.transport}`, t === 'in-process' ? 'drop --transport: the reference device runs in this process' : `use --transport ${t} or leave it out`);
    }
  }
  if (flags.wire !== undefined || flags.wireNetns !== undefined) {
    if (spec.kind !== 'vhost-user') {
      throw new UsageError(`--wire applies to --dut vhost-user:PATH only; the suite owns the wire of --dut ${flags.dut}`, 'drop --wire and --wire-netns');
    }
    spec.wire = parseWire(flags.wire, flags.wireNetns);
  }
  const allowed = flags.features !== undefined ? parseFeatureList(flags.features) : undefined;
  const checks = selectChecks(flags.only, CHECKS);
  const out = flags.out ?? path.join('runs', newRunId('conform'));
  if (fs.existsSync(path.join(out, 'manifest.json'))) throw new UsageError(`${out} already holds a run`, 'choose another --out');
  return { spec, checks, allowed, out, flags };
}

export interface ConformIo {
  out: (s: string) => void;
  err: (s: string) => void;
  width?: number;
}

export interface ConformOutcome {
  exitCode: number;
  /** Each check's own record, in the order run. */
  records: ConformanceRecord[];
  /** Requirements seen broken while other checks ran. */
  findings: ConformanceFindingRecord[];
  /** One verdict per requirement, findings folded in: what the table, counts and exit code use. */
  verdicts: ConformanceRecord[];
  dir: string;
  durationMs: number;
}

export async function runConform(plan: ConformPlan, io: ConformIo): Promise<ConformOutcome> {
  const name = dutName(plan.spec);
  return withLedger(Ledger.create(newRunId('conform')), async (ledger) => {
    const t0 = performance.now();
    io.err(`conform: starting ${name}\n`);
    const dut = await startConformDut(plan.spec, { ledger });
    let writer: RunWriter | undefined;
    let unhook = () => {};
    try {
      const startMs = Math.round(performance.now() - t0);
      io.err(`conform: ${dut.label}${dut.unavailable ? ` — unavailable: ${dut.unavailable}` : ''} (ready in ${startMs} ms)\n`);
      io.err(`conform: wire: ${dut.wire ? dut.wire.describe : `none — ${dut.noWire}`}${dut.wireNote && dut.wire ? ` (${dut.wireNote})` : ''}\n`);
      writer = RunWriter.create(plan.out, {
        runId: path.basename(plan.out),
        kind: 'conformance',
        tool: { version: pkg.version, node: process.version },
        versions: dut.versions,
        config: {
          dut: name,
          transport: dut.transport,
          features: plan.allowed === undefined ? 'all offered' : featureNames(plan.allowed),
          only: plan.flags.only ?? 'all',
          checks: plan.checks.map((c) => c.id),
          offered: `0x${dut.offered.toString(16)}`,
          wire: dut.wire ? dut.wire.describe : `none: ${dut.noWire ?? 'n/a'}`,
          ...(dut.wireNote ? { wireProbe: dut.wireNote } : {}),
        },
        capabilities: [{ name: `conform:${name}`, runnable: !dut.unavailable, reason: dut.unavailable ?? dut.label }],
        commandLines: dut.commandLine ? { [name]: dut.commandLine } : {},
      });
      const w = writer;
      unhook = onInterrupt(() => w.finish('interrupted'));
      const result = await runSuite({
        dut,
        checks: plan.checks,
        catalogue: CHECKS,
        allowed: plan.allowed,
        onRecord: (r) => {
          w.record(r);
          io.err(`${progressLine(r)}\n`);
        },
        log: (m) => io.err(`${m}\n`),
      });
      const c = counts(result.verdicts);
      const musts = mustFailures(result.verdicts);
      const wall = Math.round(performance.now() - t0);
      w.manifest.config = { ...(w.manifest.config as object), durationMs: result.durationMs, wallMs: wall, startMs, restarts: result.restarts, counts: c };
      if (dut.commandLine) w.manifest.commandLines = { [name]: dut.commandLine };
      for (const l of dut.logs?.() ?? []) fs.writeFileSync(w.logPath(l.name), l.text);
      w.finish('complete');
      io.out(`${conformanceTable(result.verdicts, io.width)}\n`);
      io.out(
        `${name} (${dut.transport}): ${c.pass} pass, ${c.fail} fail, ${c.warn} warn, ${c.skip} skip — ` +
          `${musts.length ? `MUST failed: ${musts.map((r) => r.requirement).join(' ')}` : 'no MUST failed'}; ` +
          `suite ${(result.durationMs / 1000).toFixed(1)} s, ${(wall / 1000).toFixed(1)} s with start-up (target < 60 s)` +
          `${result.restarts ? `; device restarted ${result.restarts}×` : ''}\n  results: ${plan.out}\n`,
      );
      return { exitCode: musts.length ? 1 : 0, records: result.records, findings: result.findings, verdicts: result.verdicts, dir: plan.out, durationMs: result.durationMs };
    } catch (err) {
      writer?.finish('failed');
      throw err;
    } finally {
      unhook();
      await dut.close();
    }
  });
}
