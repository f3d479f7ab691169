// The live half of the KVM probe: gather what the host shows (open /dev/kvm and ask its API
// version; boot the probe boot sector under -accel kvm with the default CPU model and with -cpu
// host). Interpreting it is parsers/accel.ts's job, pure and tested on recorded observations.
//
// KVM counts as usable only when a real guest runs under it at a usable speed: /dev/kvm merely
// existing proves nothing. On a PVM guest host QEMU starts under KVM, then firmware and kernels
// crawl (seconds for the boot sector, no kernel output in a minute), and `-cpu host` aborts with
// "failed to set MSR 0x10a".
import { bootProbe, type BootAttempt } from '../boot.ts';
import { close, openDevice } from '../sys.ts';
import { libc, errno, errnoName } from '../../sys/libc.ts';
import type { Ledger } from '../../core/ledger.ts';
import { KVM_DEVICE, deviceProblem, type KvmDeviceObservation } from '../parsers/accel.ts';

export { KVM_DEVICE };

const KVM_GET_API_VERSION = 0xae00; // _IO(KVMIO, 0x00)
export const KVM_DEADLINE_MS = 3000;

/** open(2) the KVM device and ask KVM_GET_API_VERSION; what happened, not what it means. */
export function observeKvmDevice(path = KVM_DEVICE): KvmDeviceObservation {
  const fd = openDevice(path);
  if (!fd.ok) return { path, openError: { errno: fd.errno, text: fd.text } };
  const api = libc.ioctlInt(fd.value, KVM_GET_API_VERSION, 0);
  const e = api < 0 ? errno() : 0;
  close(fd.value);
  return api < 0 ? { path, apiVersion: api, ioctlError: { errno: errnoName(e), text: libc.strerror(e) } } : { path, apiVersion: api };
}

export interface KvmBoots {
  kvmBoot?: BootAttempt;
  kvmCpuHost?: BootAttempt;
}

/**
 * Boot the probe sector under KVM (default CPU model, and -cpu host) when the device allows it.
 * QEMU 7.2 always opens /dev/kvm itself (it has no option for another node), so a device observed
 * at another path (tests) only decides whether to boot.
 */
export async function tryKvm(qemu: string, image: string, device: KvmDeviceObservation, ledger: Ledger | undefined, deadlineMs = KVM_DEADLINE_MS): Promise<KvmBoots> {
  if (deviceProblem(device)) return {};
  const base = { qemu, accel: 'kvm' as const, image, ledger, deadlineMs };
  const [kvmBoot, kvmCpuHost] = await Promise.all([bootProbe(base), bootProbe({ ...base, extra: ['-cpu', 'host'] })]);
  return { kvmBoot, kvmCpuHost };
}
