// The ordered list `vnetbench setup` walks. Steps later in the list may rely on earlier ones
// (netperf's fetch uses apt-get and dpkg-deb; a guest image step would use busybox and cpio), so
// new steps are appended here.
import { UsageError } from '../core/errors.ts';
import { netperfStep } from './netperf.ts';
import { imageStep } from './image-step.ts';
import { isOptionalGroup, OPTIONAL_GROUPS, packageStep, selectPackages, TEST_GROUPS, type OptionalGroup } from './packages.ts';
import type { SetupStep } from './step.ts';

export interface Selection {
  /** Everything the test suite needs (`--tests`). */
  tests?: boolean;
  /** Optional groups named with `--with`. */
  with?: readonly OptionalGroup[];
}

export function setupSteps(sel: Selection = {}): SetupStep[] {
  const groups = [...(sel.tests ? TEST_GROUPS : []), ...(sel.with ?? [])];
  // The image packs netperf and the Debian tools, so it comes after them.
  return [...selectPackages(groups).map(packageStep), netperfStep, imageStep];
}

/** `--with dpdk,chromium`: a comma list of optional group names. */
export function parseWith(value: string): OptionalGroup[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const known = Object.keys(OPTIONAL_GROUPS).join(', ');
  if (names.length === 0) throw new UsageError('--with: no group named', `choose from: ${known}`);
  for (const n of names) {
    if (!isOptionalGroup(n)) throw new UsageError(`--with: unknown group "${n}"`, `choose from: ${known}`);
  }
  return names as OptionalGroup[];
}
