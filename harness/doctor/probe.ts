// probeHost: run every doctor probe and return HostCapabilities. Probes that create host objects
// (the scratch namespace and its links, QEMU processes) run inside one ledger, so whatever they
// made is removed on success, failure, SIGINT and SIGTERM alike. Independent groups run in
// parallel; the KVM/TCG verdict is cached per host boot, which keeps a repeated doctor fast.
import fs from 'node:fs';
import os from 'node:os';
import { Ledger } from '../core/ledger.ts';
import { withLedger } from '../core/lifecycle.ts';
import { shortId } from '../core/names.ts';
import { findTool } from '../setup/tools.ts';
import { probeAccel } from './accel.ts';
import { probeAfPacket } from './probes/afpacket.ts';
import { probeLinuxAio } from './probes/aio.ts';
import { probeBridge } from './probes/bridge.ts';
import { probeIoUring } from './probes/iouring.ts';
import { probeMacvlan } from './probes/macvlan.ts';
import { probeMacvtap } from './probes/macvtap.ts';
import { probeNetns } from './probes/netns.ts';
import { probeNics } from './probes/nics.ts';
import { probeQemu } from './probes/qemu.ts';
import { probeRoot } from './probes/root.ts';
import { probeTools } from './probes/tools.ts';
import { probeTun } from './probes/tun.ts';
import { probeVeth } from './probes/veth.ts';
import { probeVhostNet } from './probes/vhostnet.ts';
import type { Evidence, HostCapabilities } from './capabilities.ts';

export interface ProbeOptions {
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
  /** Reuse the KVM/TCG boots cached for this boot and this KVM device state (default true). */
  useCache?: boolean;
  kvmDeadlineMs?: number;
  /** The KVM device node to open (default /dev/kvm); see AccelOptions.kvmDevice. */
  kvmDevice?: string;
  /** Short id for the scratch namespace and link names (default: random). */
  id?: string;
  /** QEMU binary (default: qemu-system-x86_64 from PATH). */
  qemu?: string;
}

type LinkCaps = Pick<HostCapabilities, 'netns' | 'tun' | 'veth' | 'macvlan' | 'macvtap' | 'bridge'>;

export function bootId(): string {
  return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

async function linkProbes(ledger: Ledger | undefined, id: string, whyNoLedger: string): Promise<LinkCaps> {
  if (!ledger) {
    const no: Evidence = { ok: false, evidence: `not tried: ${whyNoLedger}` };
    return { netns: no, tun: await probeTun(undefined, whyNoLedger), veth: no, macvlan: no, macvtap: no, bridge: no };
  }
  const { netns, scratch } = await probeNetns(ledger, id);
  const why = `no scratch namespace (${netns.evidence})`;
  const tun = await probeTun(scratch, why);
  const { veth, pair } = await probeVeth(scratch, why);
  const noLower = scratch ? `no veth lower device (${veth.evidence})` : why;
  const macvlan = await probeMacvlan(scratch, pair, noLower);
  const macvtap = await probeMacvtap(scratch, pair, noLower);
  await pair?.remove();
  const bridge = await probeBridge(scratch, why);
  return { netns, tun, veth, macvlan, macvtap, bridge };
}

function openLedger(root: Evidence, id: string): { ledger?: Ledger; why: string } {
  if (!root.ok) return { why: `needs root, ${root.evidence}` };
  try {
    return { ledger: Ledger.create(`doctor-${id}`), why: '' };
  } catch (e) {
    return { why: `cannot write the ledger: ${(e as Error).message}` };
  }
}

export async function probeHost(opts: ProbeOptions = {}): Promise<HostCapabilities> {
  const log = opts.log ?? (() => {});
  const id = opts.id ?? shortId();
  const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    log(`${what}...`);
    const r = await fn();
    log(`${what}: done in ${Date.now() - t0} ms`);
    return r;
  };
  const root = probeRoot();
  const host = { bootId: bootId(), kernel: `${os.release()} ${os.version()}` };
  const qemu = opts.qemu ?? findTool('qemu-system-x86_64');
  const kernel = {
    vhostNet: probeVhostNet(),
    ioUring: probeIoUring(),
    linuxAio: probeLinuxAio(),
    afPacket: probeAfPacket(),
  };
  const { ledger, why } = openLedger(root, id);
  const body = async (l?: Ledger) => {
    const [links, accel, qemuCaps, tools, nics] = await Promise.all([
      timed('namespace, tap, veth, macvlan, macvtap, bridge', () => linkProbes(l, id, why)),
      timed('kvm/tcg boot probe', () =>
        probeAccel({ qemu, bootId: host.bootId, ledger: l, useCache: opts.useCache, kvmDeadlineMs: opts.kvmDeadlineMs, kvmDevice: opts.kvmDevice, log })),
      timed('qemu version and netdevs', () => probeQemu(qemu)),
      timed('tool versions', () => probeTools()),
      timed('physical NICs', () => probeNics()),
    ]);
    return { root, ...kernel, ...links, kvm: accel.kvm, tcg: accel.tcg, qemu: qemuCaps, tools, nics, host };
  };
  return ledger ? withLedger(ledger, body) : body(undefined);
}
