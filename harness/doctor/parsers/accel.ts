// Interpreting what the KVM and TCG probes observed. Pure: observations in, verdict out, so every
// situation a host can be in is tested from recorded observations (fixtures/doctor/captured/kvm-*.json,
// and fixtures/doctor/reconstructed/kvm-usable.json for the one no project machine can record):
//
//   no-device      open("/dev/kvm") fails with ENOENT (no KVM in the kernel, or virtualisation not
//                  exposed to this host), or ENXIO/ENODEV (a node without a driver behind it)
//   device-denied  open fails with EACCES/EPERM (not root, not in the kvm group)
//   device-error   any other open errno, or KVM_GET_API_VERSION is not 12
//   qemu-missing   the device is fine but no QEMU could be started to boot a guest on it
//   not-usable     QEMU runs under KVM but the probe guest does not print within the deadline, or
//                  QEMU exits first (a PVM guest host: the guest crawls; `-cpu host` aborts with
//                  "failed to set MSR 0x10a")
//   usable         the probe guest printed its marker under KVM, with the default CPU model and with
//                  `-cpu host` (what vnetbench's guests run with under KVM), within the deadline
import type { Evidence } from '../capabilities.ts';
import { describeAttempt, stderrGist, type BootAttempt } from './boot.ts';

export const KVM_DEVICE = '/dev/kvm';
/** KVM_GET_API_VERSION's answer on every kernel since 2.6.22 (the stable API). */
export const KVM_API_VERSION = 12;

/** What opening the KVM device showed. */
export interface KvmDeviceObservation {
  path: string;
  /** open(2) failed: errno name and strerror text. */
  openError?: { errno: string; text: string };
  /** open succeeded: KVM_GET_API_VERSION's return value (-1 when the ioctl failed, see ioctlError). */
  apiVersion?: number;
  ioctlError?: { errno: string; text: string };
}

/** Everything the accelerator probe observed on a host. */
export interface AccelObservations {
  device: KvmDeviceObservation;
  /** The qemu-system-x86_64 that was used; absent when none is installed (nothing was booted). */
  qemu?: string;
  /** How long the KVM boots were given. */
  kvmDeadlineMs: number;
  /** The probe sector under -accel kvm, default CPU model. Absent when the device or QEMU ruled a boot out. */
  kvmBoot?: BootAttempt;
  /** The same with -cpu host, which vnetbench's guests use under KVM (harness/guest/cmdline.ts). */
  kvmCpuHost?: BootAttempt;
  /** The probe sector under -accel tcg. Absent without QEMU. */
  tcg?: BootAttempt;
}

export type KvmSituation = 'no-device' | 'device-denied' | 'device-error' | 'qemu-missing' | 'not-usable' | 'usable';

export interface AccelVerdict extends Evidence {
  /** One sentence: why usable or not. */
  reason: string;
  /** What to do about it; absent when usable. */
  fix?: string;
}

export interface KvmVerdict extends AccelVerdict {
  situation: KvmSituation;
}

const NO_QEMU = 'qemu-system-x86_64 not found';
const INSTALL_QEMU = 'install qemu-system-x86 (vnetbench setup), or point qemu.binary at a working qemu-system-x86_64';
const TCG_MEANWHILE = 'meanwhile vnetbench runs guests under TCG: compare backends within one run, absolute numbers do not transfer';

/** The device observation as one line of evidence. */
export function describeDevice(d: KvmDeviceObservation): string {
  if (d.openError) return `open ${d.path}: ${d.openError.errno} (${d.openError.text})`;
  if (d.apiVersion === KVM_API_VERSION) return `${d.path} opened, KVM_GET_API_VERSION = ${KVM_API_VERSION}`;
  if (d.ioctlError) return `${d.path} opened but KVM_GET_API_VERSION failed: ${d.ioctlError.errno} (${d.ioctlError.text})`;
  return `${d.path} opened but KVM_GET_API_VERSION returned ${d.apiVersion}, not ${KVM_API_VERSION}`;
}

/** Whether the device rules KVM out, and then why and what to do. */
export function deviceProblem(d: KvmDeviceObservation): { situation: KvmSituation; reason: string; fix: string } | undefined {
  const e = d.openError?.errno;
  if (e === 'ENOENT') {
    return {
      situation: 'no-device',
      reason: `${d.path} does not exist: this kernel has no KVM, or the CPU's virtualisation extensions are not available to it`,
      fix: `enable VT-x/AMD-V in the firmware (on a VM: nested virtualisation in its hypervisor) and load kvm_intel or kvm_amd; ${TCG_MEANWHILE}`,
    };
  }
  if (e === 'ENXIO' || e === 'ENODEV') {
    return {
      situation: 'no-device',
      reason: `${d.path} exists but no KVM driver answers it (${e})`,
      fix: `load kvm_intel or kvm_amd (modprobe) and check dmesg for why it refuses (virtualisation disabled in the firmware?); ${TCG_MEANWHILE}`,
    };
  }
  if (e === 'EACCES' || e === 'EPERM') {
    return {
      situation: 'device-denied',
      reason: `${d.path} exists but this user may not open it (${e})`,
      fix: `run as root, or add the user to the group owning ${d.path} (usually kvm: usermod -aG kvm USER, then log in again)`,
    };
  }
  if (e) {
    return { situation: 'device-error', reason: `${d.path} cannot be opened (${e}: ${d.openError!.text})`, fix: `check dmesg for KVM errors; ${TCG_MEANWHILE}` };
  }
  if (d.apiVersion !== KVM_API_VERSION) {
    return {
      situation: 'device-error',
      reason: `${d.path} is not a working KVM device (${describeDevice(d).replace(`${d.path} opened but `, '')})`,
      fix: `check that ${d.path} is the KVM device (char 10:232) and dmesg for KVM errors; ${TCG_MEANWHILE}`,
    };
  }
  return undefined;
}

/** Did this boot reach the marker? */
const booted = (a: BootAttempt | undefined): boolean => a?.kind === 'marker';

/** Why a boot under KVM did not count: the observation, in words. */
function failedBoot(what: string, a: BootAttempt): string {
  switch (a.kind) {
    case 'timeout':
      return `${what} does not print within ${(a.ms / 1000).toFixed(1)} s under KVM (the guest crawls)`;
    case 'exited':
      return `${what} makes QEMU exit under KVM${stderrGist(a.stderr) ? ` (${stderrGist(a.stderr)})` : ''}`;
    default:
      return `${what}: ${describeAttempt(a)}`;
  }
}

/**
 * The KVM verdict. Evidence is a headline and then the observations it rests on: the device, each
 * boot under KVM with its time or QEMU's error, and the TCG time beside them (a slow KVM is
 * visibly slower than emulation).
 */
export function kvmVerdict(o: AccelObservations): KvmVerdict {
  const dev = describeDevice(o.device);
  const problem = deviceProblem(o.device);
  if (problem) return { ok: false, ...problem, evidence: `KVM not usable: ${dev}` };
  const boot = o.kvmBoot;
  if (!o.qemu || !boot || boot.kind === 'spawn-failed') {
    const why = !o.qemu || !boot ? NO_QEMU : describeAttempt(boot);
    return {
      ok: false,
      situation: 'qemu-missing',
      reason: `${o.device.path} works but no QEMU could be started to boot a guest on it (${why})`,
      fix: INSTALL_QEMU,
      evidence: `KVM not usable: ${dev}; ${why}`,
    };
  }
  const parts = [
    dev,
    `qemu -accel kvm boot sector: ${describeAttempt(boot)}`,
    ...(o.tcg?.kind === 'marker' ? [`(TCG: ${o.tcg.ms} ms)`] : []),
    ...(o.kvmCpuHost ? [`-cpu host: ${describeAttempt(o.kvmCpuHost)}`] : []),
  ];
  // Without a -cpu host attempt (older cached observations) the default CPU decides alone.
  const cpuHostOk = !o.kvmCpuHost || booted(o.kvmCpuHost);
  if (booted(boot) && cpuHostOk) {
    return {
      ok: true,
      situation: 'usable',
      reason: `a guest boots under KVM (marker after ${boot.ms} ms${o.kvmCpuHost ? `, with -cpu host after ${o.kvmCpuHost.ms} ms` : ''})`,
      evidence: `KVM boots a guest: ${parts.join('; ')}`,
    };
  }
  const why = !booted(boot) ? failedBoot('the probe guest', boot) : failedBoot('-cpu host, which vnetbench guests use under KVM,', o.kvmCpuHost!);
  return {
    ok: false,
    situation: 'not-usable',
    reason: `${o.device.path} works but ${why}${o.tcg?.kind === 'marker' && boot.kind === 'timeout' ? `; TCG printed after ${o.tcg.ms} ms` : ''}`,
    fix:
      'this host is probably itself a VM whose hypervisor gives it no usable nested virtualisation (e.g. a PVM guest): ' +
      `enable nested virtualisation there or use bare metal; ${TCG_MEANWHILE}`,
    evidence: `KVM not usable: ${parts.join('; ')}`,
  };
}

export function tcgVerdict(o: Pick<AccelObservations, 'qemu' | 'tcg'>): AccelVerdict {
  if (!o.qemu || !o.tcg) return { ok: false, reason: NO_QEMU, fix: INSTALL_QEMU, evidence: `${NO_QEMU} (install: \`vnetbench setup\`)` };
  const evidence = `qemu -accel tcg boot sector: ${describeAttempt(o.tcg)}`;
  if (o.tcg.kind === 'marker') return { ok: true, reason: `a guest boots under TCG (marker after ${o.tcg.ms} ms)`, evidence };
  return {
    ok: false,
    reason: `QEMU does not boot the probe guest under TCG: ${describeAttempt(o.tcg)}`,
    fix: o.tcg.kind === 'spawn-failed' ? INSTALL_QEMU : `check QEMU's firmware (SeaBIOS, package seabios) and its stderr; ${INSTALL_QEMU}`,
    evidence,
  };
}
