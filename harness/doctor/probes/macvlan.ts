// macvlan (bridge mode) on one end of the scratch veth pair, created and deleted.
import type { Scratch } from '../scratch.ts';
import { failure } from '../scratch.ts';
import type { VethPair } from './veth.ts';
import type { Evidence } from '../capabilities.ts';

export async function probeMacvlan(scratch: Scratch | undefined, lower: VethPair | undefined, whyNot: string): Promise<Evidence> {
  if (!scratch || !lower) return { ok: false, evidence: `not tried: ${whyNot}` };
  const name = scratch.linkName('mv');
  const r = await scratch.addLink(name, ['link', lower.a, 'type', 'macvlan', 'mode', 'bridge']);
  if (r.code !== 0) return { ok: false, evidence: failure(r) };
  const info = await scratch.show(name);
  await scratch.delLink(name);
  const kind = info?.linkinfo?.info_kind;
  return kind === 'macvlan'
    ? { ok: true, evidence: `macvlan ${name} (mode bridge) on veth ${lower.a} created in ${scratch.ns} and deleted` }
    : { ok: false, evidence: `${name} created but ip reports kind ${kind ?? '?'}` };
}
