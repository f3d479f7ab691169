// Doctor's two outputs: lines for a person (every line with its evidence, and a fix under a failed
// probe that has one) and one JSON document (every probe's {ok, evidence}, plus reason and fix for
// kvm and tcg, the NICs, and every backend with runnable/reason/fix).
import Table from 'cli-table3';
import { backendTable, type BackendAvailability } from './backends.ts';
import type { Evidence, HostCapabilities, NicReport, ProbeVerdict, ToolName } from './capabilities.ts';

/** A probe's {ok, evidence} plus what it measured (version, netdevs, features) and, for some, reason and fix. */
type ProbeEntry = Evidence & ProbeVerdict & { version?: string; netdevs?: string[]; features?: string; situation?: string };

const TOOL_LABELS: Record<ToolName, string> = {
  netperf: 'netperf',
  netserver: 'netserver',
  iperf3: 'iperf3',
  sockperf: 'sockperf',
  testpmd: 'dpdk-testpmd',
};

/** Every probe in display order, keyed by the name used in text and JSON. */
export function probeEntries(c: HostCapabilities): [string, ProbeEntry][] {
  const { features, ...vhost } = c.vhostNet;
  return [
    ['root', c.root],
    ['netns', c.netns],
    ['tun', c.tun],
    ['veth', c.veth],
    ['bridge', c.bridge],
    ['macvlan', c.macvlan],
    ['macvtap', c.macvtap],
    ['vhost-net', { ...vhost, ...(features !== undefined ? { features: `0x${features.toString(16)}` } : {}) }],
    ['af_packet', c.afPacket],
    ['io_uring', c.ioUring],
    ['linux-aio', c.linuxAio],
    ['kvm', c.kvm],
    ['tcg', c.tcg],
    ['qemu', c.qemu],
    ...(Object.keys(TOOL_LABELS) as ToolName[]).map((t): [string, ProbeEntry] => [TOOL_LABELS[t], c.tools[t]]),
  ];
}

export interface DoctorDocument {
  host: HostCapabilities['host'];
  probes: Record<string, ProbeEntry>;
  nics: NicReport[];
  backends: BackendAvailability[];
}

export function doctorDocument(c: HostCapabilities): DoctorDocument {
  return { host: c.host, probes: Object.fromEntries(probeEntries(c)), nics: c.nics, backends: backendTable(c) };
}

function nicLines(n: NicReport): string[] {
  const ch = n.channels ? `channels ${n.channels.current ?? '?'} of max ${n.channels.max ?? '?'}` : 'channels unknown';
  const on = Object.entries(n.offloads ?? {}).filter(([, o]) => o.on).map(([k]) => k);
  const l2 = n.l2FwdOffload ? `${n.l2FwdOffload.on ? 'on' : 'off'}${n.l2FwdOffload.fixed ? ' [fixed]' : ''}` : 'not reported';
  return [
    `  ${n.name}: driver ${n.driver ?? '?'}, firmware ${n.firmware || '(none reported)'}, bus ${n.busInfo ?? '?'}`,
    `    link ${n.linkDetected === undefined ? '?' : n.linkDetected ? 'up' : 'down'}, speed ${n.speedMbps !== undefined ? `${n.speedMbps} Mb/s` : 'unknown (ethtool: Unknown!)'}, ${ch}`,
    `    SR-IOV total VFs: ${n.sriovTotalVfs ?? 'none (no sriov_totalvfs)'}; l2-fwd-offload (VMDq via macvlan): ${l2}`,
    `    offloads on (ethtool -k): ${on.length ? on.join(' ') : 'none reported'}`,
    ...n.problems.map((p) => `    problem: ${p}`),
  ];
}

function backendText(rows: BackendAvailability[], width: number): string {
  const reasonWidth = Math.max(40, width - 32);
  const t = new Table({
    head: ['backend', 'runnable', 'why / what to do'],
    colWidths: [16, 10, reasonWidth],
    wordWrap: true,
    style: { head: [], border: [] },
  });
  for (const r of rows) t.push([r.name, r.runnable ? 'yes' : 'NO', r.runnable ? r.reason : `${r.reason}\nfix: ${r.fix}`]);
  return t.toString();
}

export function doctorText(c: HostCapabilities, width = 120): string {
  const lines = [`vnetbench doctor: kernel ${c.host.kernel}, boot ${c.host.bootId}`, ''];
  const entries = probeEntries(c);
  const pad = Math.max(...entries.map(([k]) => k.length));
  for (const [name, e] of entries) {
    lines.push(`${e.ok ? ' ok ' : ' NO '} ${name.padEnd(pad)}  ${e.evidence}`);
    if (!e.ok && e.fix) lines.push(`     ${''.padEnd(pad)}  fix: ${e.fix}`);
  }
  lines.push('', `Physical NICs (/sys/class/net/* with a device link): ${c.nics.length || 'none'}`);
  for (const n of c.nics) lines.push(...nicLines(n));
  lines.push('', 'Backends:', backendText(backendTable(c), width));
  return lines.join('\n') + '\n';
}
