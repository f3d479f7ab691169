// TUN/TAP: /dev/net/tun must be a character device that opens and answers TUNGETFEATURES, and a
// tap must really be created with it (in the scratch namespace), which needs CAP_NET_ADMIN.
import fs from 'node:fs';
import { close, ioctlReadU32, openDevice } from '../sys.ts';
import type { Scratch } from '../scratch.ts';
import { failure } from '../scratch.ts';
import type { Evidence } from '../capabilities.ts';

const TUN = '/dev/net/tun';
const TUNGETFEATURES = 0x800454cf; // _IOR('T', 207, unsigned int)

const IFF: [number, string][] = [
  [0x0001, 'TUN'], [0x0002, 'TAP'], [0x0010, 'NAPI'], [0x0020, 'NAPI_FRAGS'], [0x0040, 'NO_CARRIER'],
  [0x0100, 'MULTI_QUEUE'], [0x1000, 'NO_PI'], [0x2000, 'ONE_QUEUE'], [0x4000, 'VNET_HDR'], [0x8000, 'TUN_EXCL'],
];

/** Names of TUNGETFEATURES flags (include/uapi/linux/if_tun.h). */
export function tunFlagNames(flags: number): string[] {
  const names = IFF.filter(([bit]) => flags & bit).map(([, n]) => n);
  const unknown = flags & ~IFF.reduce((a, [bit]) => a | bit, 0);
  return unknown ? [...names, `0x${unknown.toString(16)}`] : names;
}

export function devNumbers(rdev: number): string {
  const major = (rdev >> 8) & 0xfff;
  const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
  return `${major}:${minor}`;
}

function tunDevice(): { ok: boolean; evidence: string } {
  let st: fs.Stats;
  try {
    st = fs.statSync(TUN);
  } catch {
    return { ok: false, evidence: `${TUN} absent (kernel without CONFIG_TUN, or /dev not populated)` };
  }
  if (!st.isCharacterDevice()) return { ok: false, evidence: `${TUN} is not a character device` };
  const fd = openDevice(TUN);
  if (!fd.ok) return { ok: false, evidence: `open ${TUN} (char ${devNumbers(st.rdev)}): ${fd.errno} (${fd.text})` };
  const f = ioctlReadU32(fd.value, TUNGETFEATURES);
  close(fd.value);
  if (!f.ok) return { ok: false, evidence: `${TUN} opened but TUNGETFEATURES failed: ${f.errno}` };
  const names = tunFlagNames(f.value);
  return { ok: true, evidence: `${TUN} char ${devNumbers(st.rdev)}, TUNGETFEATURES 0x${f.value.toString(16)} (${names.join(' ')})` };
}

export async function probeTun(scratch: Scratch | undefined, whyNoScratch: string): Promise<Evidence> {
  const dev = tunDevice();
  if (!dev.ok) return dev;
  if (!scratch) return { ok: false, evidence: `${dev.evidence}; tap not tried: ${whyNoScratch}` };
  const name = scratch.linkName('t');
  const r = await scratch.addTap(name);
  if (r.code !== 0) return { ok: false, evidence: `${dev.evidence}; ${failure(r)}` };
  const info = await scratch.show(name);
  await scratch.delLink(name);
  const kind = info?.linkinfo?.info_kind;
  const type = info?.linkinfo?.info_data?.type;
  if (kind !== 'tun' || type !== 'tap') {
    return { ok: false, evidence: `${dev.evidence}; ${name} created but ip reports kind ${kind ?? '?'} type ${String(type ?? '?')}, not tun/tap` };
  }
  return { ok: true, evidence: `${dev.evidence}; tap ${name} created in ${scratch.ns} (ip tuntap add, vnet_hdr) and deleted` };
}
