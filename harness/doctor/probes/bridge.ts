// Linux bridge: the copy backend bridges its tap to the peer's veth. Created and deleted in the
// scratch namespace.
import type { Scratch } from '../scratch.ts';
import { failure } from '../scratch.ts';
import type { Evidence } from '../capabilities.ts';

export async function probeBridge(scratch: Scratch | undefined, whyNoScratch: string): Promise<Evidence> {
  if (!scratch) return { ok: false, evidence: `not tried: ${whyNoScratch}` };
  const name = scratch.linkName('br');
  const r = await scratch.addLink(name, ['type', 'bridge']);
  if (r.code !== 0) return { ok: false, evidence: failure(r) };
  const info = await scratch.show(name);
  await scratch.delLink(name);
  const kind = info?.linkinfo?.info_kind;
  return kind === 'bridge'
    ? { ok: true, evidence: `bridge ${name} created in ${scratch.ns} (ip link add type bridge) and deleted` }
    : { ok: false, evidence: `${name} created but ip reports kind ${kind ?? '?'}` };
}
