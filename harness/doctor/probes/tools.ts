// Versions of the workload engines and testpmd, each from the binary itself.
import { exec } from '../../core/exec.ts';
import { findTool, providerHint } from '../../setup/tools.ts';
import { parseIperf3Version, parseNetperfVersion, parseSockperfVersion, parseTestpmdVersion } from '../parsers/versions.ts';
import type { HostCapabilities, ToolName } from '../capabilities.ts';

interface ToolSpec {
  binary: string;
  args: string[];
  parse(text: string): string | undefined;
}

// `dpdk-testpmd -v -h`: EAL prints its version for -v, then -h prints usage and exits before any
// hugepage or runtime-directory set-up.
const SPECS: Record<ToolName, ToolSpec> = {
  netperf: { binary: 'netperf', args: ['-V'], parse: parseNetperfVersion },
  netserver: { binary: 'netserver', args: ['-V'], parse: parseNetperfVersion },
  iperf3: { binary: 'iperf3', args: ['--version'], parse: parseIperf3Version },
  sockperf: { binary: 'sockperf', args: ['--version'], parse: parseSockperfVersion },
  testpmd: { binary: 'dpdk-testpmd', args: ['-v', '-h'], parse: parseTestpmdVersion },
};

async function probeTool(spec: ToolSpec): Promise<HostCapabilities['tools'][ToolName]> {
  const bin = findTool(spec.binary);
  if (!bin) return { ok: false, evidence: `${spec.binary} not found (install: ${providerHint(spec.binary)})` };
  const r = await exec([bin, ...spec.args], { nothrow: true, timeoutMs: 10_000 });
  const version = spec.parse(`${r.stdout}\n${r.stderr}`);
  if (!version) {
    const out = (r.stderr || r.stdout).trim().split('\n')[0] ?? '';
    return { ok: false, evidence: `\`${bin} ${spec.args.join(' ')}\` printed no version (exit ${r.code}): ${out.slice(0, 160)}` };
  }
  return { ok: true, version, evidence: `${bin} ${spec.args.join(' ')}: ${version}` };
}

export async function probeTools(): Promise<HostCapabilities['tools']> {
  const names = Object.keys(SPECS) as ToolName[];
  const results = await Promise.all(names.map((n) => probeTool(SPECS[n])));
  return Object.fromEntries(names.map((n, i) => [n, results[i]])) as HostCapabilities['tools'];
}
