// veth: a pair is created in the scratch namespace. It stays until the macvlan/macvtap probes have
// used one end as their lower device (no dummy driver is needed, which some kernels lack).
import type { Scratch } from '../scratch.ts';
import { failure } from '../scratch.ts';
import type { Evidence } from '../capabilities.ts';

export interface VethPair {
  a: string;
  b: string;
  remove(): Promise<void>;
}

export async function probeVeth(scratch: Scratch | undefined, whyNoScratch: string): Promise<{ veth: Evidence; pair?: VethPair }> {
  if (!scratch) return { veth: { ok: false, evidence: `not tried: ${whyNoScratch}` } };
  const a = scratch.linkName('a');
  const b = scratch.linkName('b');
  const r = await scratch.addLink(a, ['type', 'veth', 'peer', 'name', b], [b]);
  if (r.code !== 0) return { veth: { ok: false, evidence: failure(r) } };
  const pair: VethPair = { a, b, remove: () => scratch.delLink(a, [b]) };
  const info = await scratch.show(a);
  if (info?.linkinfo?.info_kind !== 'veth') {
    return { veth: { ok: false, evidence: `${a} created but ip reports kind ${info?.linkinfo?.info_kind ?? '?'}` }, pair };
  }
  return { veth: { ok: true, evidence: `veth pair ${a}/${b} created in ${scratch.ns} (ip link add type veth), deleted after use` }, pair };
}
