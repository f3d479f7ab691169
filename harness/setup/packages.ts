// The Debian packages vnetbench uses, why, and when. Optional groups are selected with
// `setup --with NAME` or implied by `setup --tests`.
import { packageStates } from './dpkg.ts';
import type { SetupStep } from './step.ts';

export interface DebianPackage {
  name: string;
  why: string;
  /** Install its Recommends too (fonts for chromium's screenshots). */
  recommends?: boolean;
}

export const BASE_PACKAGES: readonly DebianPackage[] = [
  { name: 'qemu-system-x86', why: 'boots the guests: qemu-system-x86_64' },
  { name: 'iperf3', why: 'workload engine, host side and guest image' },
  { name: 'sockperf', why: 'latency workload engine, host side and guest image' },
  { name: 'busybox-static', why: 'the guest image userland' },
  { name: 'ethtool', why: 'NIC driver, offload and channel reports' },
  { name: 'iproute2', why: 'namespaces, veth, tap, macvtap: ip' },
  { name: 'liburing2', why: 'io_uring for the AIO vhost-user backends' },
  { name: 'lz4', why: 'unpacks the Debian guest kernel so QEMU boots it directly (PVH), faster than the bzImage' },
];

/** Optional groups: `--with NAME`. `--tests` selects every group the test suite needs. */
export const OPTIONAL_GROUPS: Readonly<Record<'dpdk' | 'chromium' | 'xmllint', readonly DebianPackage[]>> = {
  dpdk: [{ name: 'dpdk-dev', why: 'dpdk-testpmd for the vhost-user backend; it ships in dpdk-dev, not dpdk' }],
  chromium: [{ name: 'chromium', why: 'renders the HTML report in its tests, driven by playwright-core', recommends: true }],
  xmllint: [{ name: 'libxml2-utils', why: 'xmllint validates JUnit output against its schema in the tests' }],
};

export type OptionalGroup = keyof typeof OPTIONAL_GROUPS;
export const TEST_GROUPS: readonly OptionalGroup[] = ['dpdk', 'chromium', 'xmllint'];

export function isOptionalGroup(s: string): s is OptionalGroup {
  return Object.hasOwn(OPTIONAL_GROUPS, s);
}

export function selectPackages(groups: readonly OptionalGroup[]): DebianPackage[] {
  const extra: DebianPackage[] = [...new Set(groups)].flatMap((g) => [...OPTIONAL_GROUPS[g]]);
  return [...BASE_PACKAGES, ...extra];
}

/** One step per package: checked with dpkg-query, installed with apt-get. */
export function packageStep(pkg: DebianPackage): SetupStep {
  return {
    name: `package ${pkg.name}`,
    why: pkg.why,
    manual: `apt-get install ${pkg.name}`,
    async check(ctx) {
      const [s] = await packageStates([pkg.name], ctx.run);
      return s.installed ? { present: true, detail: s.detail } : { present: false, detail: s.detail };
    },
    async install(ctx) {
      await ctx.apt.install([pkg.name], { recommends: pkg.recommends });
    },
  };
}
