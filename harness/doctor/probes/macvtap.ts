// macvtap (bridge mode) on one end of the scratch veth pair. Created, then its character device is
// opened the way a backend hands it to QEMU: the device number is read from the namespace's own
// sysfs (/sys/class/net/NAME/macvtap/tapIFINDEX/dev) and a node is made for it in a ledgered temp
// dir. /dev/tapIFINDEX is not used: ifindexes are per namespace, so that name can belong to
// another namespace's macvtap.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exec } from '../../core/exec.ts';
import type { Scratch } from '../scratch.ts';
import { failure, refuseDuringTeardown } from '../scratch.ts';
import { close, openDevice } from '../sys.ts';
import type { VethPair } from './veth.ts';
import type { Evidence } from '../capabilities.ts';

async function openCharDevice(scratch: Scratch, name: string, ifindex: number): Promise<string> {
  const sysfs = `/sys/class/net/${name}/macvtap/tap${ifindex}/dev`;
  const r = await exec(['ip', 'netns', 'exec', scratch.ns, 'cat', sysfs], { nothrow: true });
  const m = /^(\d+):(\d+)$/.exec(r.stdout.trim());
  if (!m) throw new Error(`no character device for ${name}: ${sysfs} unreadable (${r.stderr.trim() || r.stdout.trim()})`);
  const dir = path.join(os.tmpdir(), `vnb-${scratch.id}-doctor`);
  refuseDuringTeardown(dir);
  scratch.ledger.add({ kind: 'tmpdir', path: dir });
  fs.mkdirSync(dir, { mode: 0o700 });
  try {
    const node = path.join(dir, `tap${ifindex}`);
    const mk = await exec(['mknod', '-m', '600', node, 'c', m[1], m[2]], { nothrow: true });
    if (mk.code !== 0) throw new Error(failure(mk));
    const fd = openDevice(node);
    if (!fd.ok) throw new Error(`open tap${ifindex} (char ${m[1]}:${m[2]}): ${fd.errno} (${fd.text})`);
    close(fd.value);
    return `char device tap${ifindex} = ${m[1]}:${m[2]} opened read-write`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    scratch.ledger.removed({ kind: 'tmpdir', path: dir });
  }
}

export async function probeMacvtap(scratch: Scratch | undefined, lower: VethPair | undefined, whyNot: string): Promise<Evidence> {
  if (!scratch || !lower) return { ok: false, evidence: `not tried: ${whyNot}` };
  const name = scratch.linkName('mt');
  // A fresh namespace has only small ifindexes in use; a random high one is free there.
  const index = 10_000 + Math.floor(Math.random() * 50_000);
  const r = await scratch.addLink(name, ['link', lower.a, 'index', String(index), 'type', 'macvtap', 'mode', 'bridge']);
  if (r.code !== 0) return { ok: false, evidence: failure(r) };
  try {
    const info = await scratch.show(name);
    const kind = info?.linkinfo?.info_kind;
    if (!info || kind !== 'macvtap') return { ok: false, evidence: `${name} created but ip reports kind ${kind ?? '?'}` };
    const dev = await openCharDevice(scratch, name, info.ifindex);
    return { ok: true, evidence: `macvtap ${name} (mode bridge) on veth ${lower.a} created in ${scratch.ns}, ${dev}; deleted` };
  } catch (e) {
    return { ok: false, evidence: `macvtap ${name} created but ${(e as Error).message}` };
  } finally {
    await scratch.delLink(name);
  }
}
