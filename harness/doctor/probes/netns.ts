// Network namespaces: the scratch namespace is created for real (`ip netns add`), and lo inside it
// must be listed. Every later link probe runs in it.
import type { Ledger } from '../../core/ledger.ts';
import { Scratch, failure } from '../scratch.ts';
import type { Evidence } from '../capabilities.ts';

export async function probeNetns(ledger: Ledger, id: string): Promise<{ netns: Evidence; scratch?: Scratch }> {
  const { scratch, result } = await Scratch.create(ledger, id);
  if (!scratch) return { netns: { ok: false, evidence: failure(result) } };
  const lo = await scratch.show('lo');
  if (!lo) return { netns: { ok: false, evidence: `created ${scratch.ns} but \`ip -n ${scratch.ns} link show lo\` failed` }, scratch };
  return {
    netns: { ok: true, evidence: `\`ip netns add ${scratch.ns}\` created a namespace (lo ifindex ${lo.ifindex}); removed at the end of the run` },
    scratch,
  };
}
