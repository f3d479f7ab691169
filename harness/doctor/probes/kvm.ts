// KVM counts as usable only when a real guest runs under it at a usable speed: QEMU with
// -accel kvm must get the probe boot sector (through SeaBIOS) to print its marker within the
// deadline. /dev/kvm merely existing proves nothing: on a PVM guest host, QEMU starts under KVM,
// then firmware and kernels crawl (seconds for the boot sector, no kernel output in a minute),
// and `-cpu host` aborts with "failed to set MSR 0x10a".
import fs from 'node:fs';
import { bootProbe, describeAttempt, type BootAttempt } from '../boot.ts';
import { close, openDevice } from '../sys.ts';
import { libc } from '../../sys/libc.ts';
import type { Ledger } from '../../core/ledger.ts';
import type { Evidence } from '../capabilities.ts';

const KVM_GET_API_VERSION = 0xae00; // _IO(KVMIO, 0x00); the stable API is version 12
export const KVM_DEADLINE_MS = 3000;

export interface KvmDevice {
  ok: boolean;
  evidence: string;
}

/** /dev/kvm opens and answers KVM_GET_API_VERSION. */
export function kvmDevice(path = '/dev/kvm'): KvmDevice {
  if (!fs.existsSync(path)) return { ok: false, evidence: `${path} absent (no KVM in this kernel, or nested virtualisation is off)` };
  const fd = openDevice(path);
  if (!fd.ok) return { ok: false, evidence: `open ${path}: ${fd.errno} (${fd.text})` };
  const api = libc.ioctlInt(fd.value, KVM_GET_API_VERSION, 0);
  close(fd.value);
  return api === 12
    ? { ok: true, evidence: `${path} opened, KVM_GET_API_VERSION = 12` }
    : { ok: false, evidence: `${path} opened but KVM_GET_API_VERSION returned ${api}, not 12` };
}

export interface KvmAttempts {
  device: KvmDevice;
  /** Default CPU model: the one that decides. */
  boot?: BootAttempt;
  /** -cpu host: reported as extra evidence (some hosts reject it while the default CPU works). */
  cpuHost?: BootAttempt;
}

export async function tryKvm(qemu: string, image: string, ledger: Ledger | undefined, deadlineMs = KVM_DEADLINE_MS): Promise<KvmAttempts> {
  const device = kvmDevice();
  if (!device.ok) return { device };
  const base = { qemu, accel: 'kvm' as const, image, ledger };
  const [boot, cpuHost] = await Promise.all([
    bootProbe({ ...base, deadlineMs }),
    bootProbe({ ...base, deadlineMs, extra: ['-cpu', 'host'] }),
  ]);
  return { device, boot, cpuHost };
}

/** The verdict, with the TCG time beside it so a slow KVM is visibly slower than emulation. */
export function kvmVerdict(a: KvmAttempts, tcg?: BootAttempt): Evidence {
  if (!a.device.ok || !a.boot) return { ok: false, evidence: `KVM not usable: ${a.device.evidence}` };
  const ok = a.boot.kind === 'marker';
  const parts = [
    a.device.evidence,
    `qemu -accel kvm boot sector: ${describeAttempt(a.boot)}`,
    ...(tcg?.kind === 'marker' ? [`(TCG: ${tcg.ms} ms)`] : []),
    ...(a.cpuHost ? [`-cpu host: ${describeAttempt(a.cpuHost)}`] : []),
  ];
  return { ok, evidence: `${ok ? 'KVM boots a guest' : 'KVM not usable (guests do not boot at usable speed)'}: ${parts.join('; ')}` };
}
