// QEMU: its version and the -netdev backend types it was built with (tap, vhost-user, ... ; af-xdp
// only from QEMU 8.2).
import { exec } from '../../core/exec.ts';
import { parseQemuVersion } from '../parsers/versions.ts';
import { parseNetdevHelp } from '../parsers/qemu.ts';
import type { HostCapabilities } from '../capabilities.ts';

export async function probeQemu(qemu: string | undefined): Promise<HostCapabilities['qemu']> {
  if (!qemu) return { ok: false, evidence: 'qemu-system-x86_64 not found on PATH (install: `vnetbench setup`)' };
  const [v, n] = await Promise.all([
    exec([qemu, '--version'], { nothrow: true, timeoutMs: 10_000 }),
    exec([qemu, '-netdev', 'help'], { nothrow: true, timeoutMs: 10_000 }),
  ]);
  const version = parseQemuVersion(v.stdout);
  const netdevs = parseNetdevHelp(n.stdout);
  if (!version) return { ok: false, evidence: `\`${qemu} --version\` printed no version (exit ${v.code}): ${(v.stderr || v.stdout).trim().slice(0, 200)}` };
  if (!netdevs) return { ok: false, version: version.version, evidence: `\`${qemu} -netdev help\` printed no backend list (exit ${n.code})` };
  return {
    ok: true,
    version: version.version,
    netdevs,
    evidence: `${qemu} --version: QEMU ${version.version}${version.package ? ` (${version.package})` : ''}; -netdev help: ${netdevs.join(' ')}`,
  };
}
