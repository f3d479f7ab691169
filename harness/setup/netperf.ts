// netperf 2.7 lives in Debian's non-free component, which the system's apt sources usually lack.
// It is fetched and unpacked into the project cache by debfetch.ts (its own sources list and
// package lists under <cache>/debs/apt), so the system's apt configuration is never changed.
import { fetchDeb } from './debfetch.ts';
import { findTool } from './tools.ts';
import { parseNetperfVersion } from '../doctor/parsers/versions.ts';
import type { SetupStep, StepStatus } from './step.ts';

export const netperfStep: SetupStep = {
  name: 'netperf 2.7',
  why: 'default workload engine, from Debian non-free into the project cache',
  manual: 'run `vnetbench setup` as root: it fetches netperf into the project cache without touching apt sources',
  async check(ctx): Promise<StepStatus> {
    const missing = ['netperf', 'netserver'].filter((t) => !findTool(t));
    if (missing.length) return { present: false, detail: `${missing.join(' and ')} not in the project cache` };
    const netperf = findTool('netperf')!;
    const r = await ctx.run([netperf, '-V'], { nothrow: true, timeoutMs: 10_000 });
    const version = parseNetperfVersion(r.stdout);
    if (r.code !== 0 || !version) {
      return { present: false, detail: `${netperf} -V failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}` };
    }
    return { present: true, detail: `${version} at ${netperf}` };
  },
  async install(ctx) {
    ctx.log('fetching netperf from Debian non-free into the project cache (system apt sources unchanged)');
    const got = await fetchDeb('netperf', { component: 'non-free' });
    ctx.log(`unpacked netperf ${got.version} into ${got.root}`);
  },
};
