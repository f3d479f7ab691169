// `vnetbench reference-device` options, checked before anything is created: a bad value is a
// UsageError (exit 2) saying what is wrong and how to fix it. Whether a named tap or namespace
// exists is checked when the link opens, still before the socket is created.
import { UsageError } from '../core/errors.ts';
import { checkSocket } from '../aio/options.ts';
import { FAULT_SPEC_FORMS, parseFaultSpec, type FaultSpec } from '../virtio/device/broken-net.ts';
import type { LinkSpec } from './reference-link.ts';

export interface ReferenceDeviceOptions {
  socket: string;
  link: LinkSpec;
  fault: FaultSpec | undefined;
  verbose: boolean;
}

export interface RawReferenceDeviceFlags {
  socket?: string;
  link?: string;
  netns?: string;
  fault?: string;
  verbose?: boolean;
}

const IFNAME = /^[A-Za-z0-9_.:-]{1,15}$/;
const NETNS = /^[A-Za-z0-9_.-]{1,64}$/;
export const LINK_FORMS = 'none (drop TX, no RX), loopback (TX comes back on RX), tap:IFNAME (an existing tap device)';

function parseLink(text: string | undefined, netns: string | undefined): LinkSpec {
  const t = text ?? 'none';
  let link: LinkSpec;
  if (t === 'none' || t === 'loopback') link = { kind: t };
  else if (t.startsWith('tap:')) {
    const ifname = t.slice(4);
    if (!IFNAME.test(ifname)) throw new UsageError(`--link ${JSON.stringify(t)}: ${JSON.stringify(ifname)} is not a Linux interface name (1-15 of A-Z a-z 0-9 _ . : -)`, `accepted: ${LINK_FORMS}`);
    link = { kind: 'tap', ifname };
  } else throw new UsageError(`--link ${JSON.stringify(t)}: unknown link`, `accepted: ${LINK_FORMS}`);
  if (netns === undefined) return link;
  if (link.kind !== 'tap') throw new UsageError(`--netns ${netns}: applies to --link tap:IFNAME only (the link is ${t})`, 'leave out --netns, or name the tap with --link tap:IFNAME');
  if (!NETNS.test(netns)) throw new UsageError(`--netns ${JSON.stringify(netns)}: not a network namespace name (A-Z a-z 0-9 _ . -)`);
  return { ...link, netns };
}

function parseFault(text: string | undefined): FaultSpec | undefined {
  if (text === undefined) return undefined;
  try {
    return parseFaultSpec(text);
  } catch (e) {
    // parseFaultSpec says `fault "TEXT": why; accepted: ...`: the flag leads, the forms go to the hint.
    throw new UsageError((e as Error).message.replace(/^fault /, '--fault ').replace(/; accepted: .*$/s, ''), `accepted: ${FAULT_SPEC_FORMS}`);
  }
}

export function parseReferenceDeviceOptions(f: RawReferenceDeviceFlags): ReferenceDeviceOptions {
  const link = parseLink(f.link, f.netns);
  const fault = parseFault(f.fault);
  return { socket: checkSocket(f.socket, '/tmp/reference.sock'), link, fault, verbose: Boolean(f.verbose) };
}

/** argv for the device process (tests and suites that start it). */
export function referenceDeviceArgv(o: { socket: string; link?: string; netns?: string; fault?: string; verbose?: boolean }): string[] {
  return [
    'reference-device',
    '--socket',
    o.socket,
    ...(o.link ? ['--link', o.link] : []),
    ...(o.netns ? ['--netns', o.netns] : []),
    ...(o.fault ? ['--fault', o.fault] : []),
    ...(o.verbose ? ['--verbose'] : []),
  ];
}
