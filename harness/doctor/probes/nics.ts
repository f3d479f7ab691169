// Physical NICs: every /sys/class/net entry with a `device` link (virtual links have none).
// Read-only: ethtool queries and sysfs reads, never a setting change.
import fs from 'node:fs';
import path from 'node:path';
import { exec } from '../../core/exec.ts';
import { findTool } from '../../setup/tools.ts';
import { parseChannels, parseDriverInfo, parseFeatures, parseLinkSettings } from '../parsers/ethtool.ts';
import type { NicReport } from '../capabilities.ts';

const SYS_NET = '/sys/class/net';

export function physicalNics(sysNet = SYS_NET): string[] {
  if (!fs.existsSync(sysNet)) return [];
  return fs
    .readdirSync(sysNet)
    .filter((n) => fs.existsSync(path.join(sysNet, n, 'device')))
    .sort();
}

/** sriov_totalvfs lives on the PCI function: the device itself, or its parent for virtio NICs. */
function sriovTotalVfs(nic: string, busInfo: string | undefined): number | undefined {
  const candidates = [
    ...(busInfo && /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.\d$/.test(busInfo) ? [`/sys/bus/pci/devices/${busInfo}/sriov_totalvfs`] : []),
    path.join(SYS_NET, nic, 'device', 'sriov_totalvfs'),
  ];
  for (const f of candidates) {
    try {
      return Number(fs.readFileSync(f, 'utf8').trim());
    } catch {
      /* not SR-IOV capable there */
    }
  }
  return undefined;
}

async function ethtool(bin: string, args: string[], problems: string[]): Promise<string | undefined> {
  const r = await exec([bin, ...args], { nothrow: true, timeoutMs: 10_000 });
  if (r.code === 0) return r.stdout;
  problems.push(`ethtool ${args.join(' ')}: ${r.stderr.trim().split('\n').at(-1) || `exit ${r.code}`}`);
  return undefined;
}

export async function probeNic(nic: string): Promise<NicReport> {
  const problems: string[] = [];
  const bin = findTool('ethtool');
  if (!bin) return { name: nic, problems: ['ethtool not found (install: apt-get install ethtool)'], sriovTotalVfs: sriovTotalVfs(nic, undefined) };
  const [info, link, channels, features] = await Promise.all([
    ethtool(bin, ['-i', nic], problems),
    ethtool(bin, [nic], problems),
    ethtool(bin, ['-l', nic], problems),
    ethtool(bin, ['-k', nic], problems),
  ]);
  const drv = info ? parseDriverInfo(info) : {};
  const settings = link ? parseLinkSettings(link) : {};
  const ch = channels ? parseChannels(channels) : undefined;
  const offloads = features ? parseFeatures(features) : undefined;
  const pick = (c: { combined?: number; rx?: number } | undefined) => c?.combined ?? c?.rx;
  return {
    name: nic,
    ...(drv.driver ? { driver: drv.driver } : {}),
    ...(drv['firmware-version'] ? { firmware: drv['firmware-version'] } : {}),
    ...(drv['bus-info'] ? { busInfo: drv['bus-info'] } : {}),
    ...(settings.speedMbps !== undefined ? { speedMbps: settings.speedMbps } : {}),
    ...(settings.linkDetected !== undefined ? { linkDetected: settings.linkDetected } : {}),
    ...(ch ? { channels: { max: pick(ch.max), current: pick(ch.current) } } : {}),
    ...(offloads ? { offloads } : {}),
    ...(offloads?.['l2-fwd-offload'] ? { l2FwdOffload: offloads['l2-fwd-offload'] } : {}),
    sriovTotalVfs: sriovTotalVfs(nic, drv['bus-info']),
    problems,
  };
}

export async function probeNics(): Promise<NicReport[]> {
  return Promise.all(physicalNics().map(probeNic));
}
