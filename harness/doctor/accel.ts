// KVM and TCG verdicts. The live part gathers observations (probes/kvm.ts, probes/tcg.ts); the
// verdicts are parsers/accel.ts's pure reading of them, so the same code judges a live host, a
// cached probe and a recorded fixture.
//
// The boots are cached per host boot: they rest on the kernel and the QEMU binary, which change
// only with a reboot or a QEMU (re)install. The key is /proc/sys/kernel/random/boot_id, the QEMU
// binary's path, size and mtime, the KVM deadline, and what opening the KVM device shows right
// now: that is observed on every call (it costs one open and one ioctl), so a cache can never
// contradict the device (a /dev/kvm loaded, removed or made accessible since). The cache holds
// observations, never verdicts, so a verdict is always today's code's reading. `doctor --no-cache`
// boots again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { cacheDir } from '../core/paths.ts';
import type { Ledger } from '../core/ledger.ts';
import { isTearingDown } from '../core/lifecycle.ts';
import { bootSector } from './bootsector.ts';
import { observeKvmDevice, tryKvm, KVM_DEADLINE_MS } from './probes/kvm.ts';
import { tryTcg } from './probes/tcg.ts';
import { kvmVerdict, tcgVerdict, type AccelObservations, type AccelVerdict, type KvmDeviceObservation, type KvmVerdict } from './parsers/accel.ts';
import type { BootAttempt } from './parsers/boot.ts';

export interface AccelVerdicts {
  kvm: KvmVerdict;
  tcg: AccelVerdict;
}

export interface AccelResult extends AccelVerdicts {
  /** What the verdicts rest on: the device as observed now, the boots now or from the cache. */
  observed: AccelObservations;
  /** Set when the boots came from the cache (when they were made). */
  cachedAt?: string;
}

interface QemuIdentity {
  path: string;
  size: number;
  mtimeMs: number;
}

/** Bumped whenever the record's shape changes: an older record is a miss, never misread. */
const CACHE_FORMAT = 2;

interface CacheRecord {
  format: number;
  bootId: string;
  qemu: QemuIdentity;
  kvmDeadlineMs: number;
  device: KvmDeviceObservation;
  at: string;
  boots: { tcg: BootAttempt; kvmBoot?: BootAttempt; kvmCpuHost?: BootAttempt };
}

export interface AccelOptions {
  qemu?: string;
  bootId: string;
  ledger?: Ledger;
  useCache?: boolean;
  kvmDeadlineMs?: number;
  /** The KVM device node to open (default /dev/kvm), e.g. a path that does not exist, in tests. */
  kvmDevice?: string;
  log?: (line: string) => void;
}

export function accelCacheFile(): string {
  return path.join(cacheDir(), 'doctor', 'accel.json');
}

function identity(qemu: string): QemuIdentity | undefined {
  try {
    const st = fs.statSync(qemu);
    return { path: qemu, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return undefined; // not there: the boots say so (spawn-failed), and nothing is cached
  }
}

function readCache(key: Omit<CacheRecord, 'at' | 'boots'>): CacheRecord | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(accelCacheFile(), 'utf8')) as CacheRecord;
    const { at, boots, ...recorded } = r;
    return isDeepStrictEqual(recorded, key) && typeof at === 'string' && boots?.tcg ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Best effort: an unwritable cache (an ordinary user) only means probing again next time. */
function writeCache(r: CacheRecord, log?: (line: string) => void): void {
  const file = accelCacheFile();
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, JSON.stringify(r, null, 2) + '\n');
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    log?.(`kvm/tcg: boots not cached: ${(e as Error).message}`);
  }
}

/**
 * Run `fn` with the probe image on disk: in the cache (its bytes never change, so it stays), or,
 * when the cache is not writable (doctor as an ordinary user), in a temp file removed afterwards.
 */
async function withBootImage<T>(fn: (image: string) => Promise<T>): Promise<T> {
  const bytes = bootSector();
  const cached = path.join(cacheDir(), 'doctor', 'bootsector.bin');
  try {
    if (!fs.existsSync(cached) || !Buffer.from(bytes).equals(fs.readFileSync(cached))) {
      fs.mkdirSync(path.dirname(cached), { recursive: true });
      fs.writeFileSync(cached, bytes);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw e;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-bootsector-'));
    try {
      fs.writeFileSync(path.join(dir, 'bootsector.bin'), bytes);
      return await fn(path.join(dir, 'bootsector.bin'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return fn(cached);
}

export async function probeAccel(o: AccelOptions): Promise<AccelResult> {
  const device = observeKvmDevice(o.kvmDevice);
  const kvmDeadlineMs = o.kvmDeadlineMs ?? KVM_DEADLINE_MS;
  const judge = (observed: AccelObservations, note = ''): AccelResult => {
    const kvm = kvmVerdict(observed);
    const tcg = tcgVerdict(observed);
    return { kvm: { ...kvm, evidence: kvm.evidence + note }, tcg: { ...tcg, evidence: tcg.evidence + note }, observed };
  };
  if (!o.qemu) return judge({ device, kvmDeadlineMs });
  const qemu = o.qemu;
  const id = identity(qemu);
  const key = id && { format: CACHE_FORMAT, bootId: o.bootId, qemu: id, kvmDeadlineMs, device };
  if (key && o.useCache !== false) {
    const hit = readCache(key);
    if (hit) {
      o.log?.(`kvm/tcg: using the boots cached at ${hit.at} for this boot (${accelCacheFile()})`);
      return { ...judge({ device, qemu, kvmDeadlineMs, ...hit.boots }, ` [cached ${hit.at}, boot ${o.bootId.slice(0, 8)}]`), cachedAt: hit.at };
    }
  }
  o.log?.(`kvm/tcg: booting a probe boot sector under each (KVM deadline ${kvmDeadlineMs} ms)`);
  const [tcg, kvm] = await withBootImage((image) =>
    Promise.all([tryTcg(qemu, image, o.ledger), tryKvm(qemu, image, device, o.ledger, kvmDeadlineMs)]),
  );
  const boots = { tcg, ...kvm };
  if (key && [tcg, kvm.kvmBoot, kvm.kvmCpuHost].every((a) => !a || conclusive(a))) {
    writeCache({ ...key, at: new Date().toISOString(), boots }, o.log);
  }
  return judge({ device, qemu, kvmDeadlineMs, ...boots });
}

/**
 * Killed by someone (our teardown on Ctrl-C, the OOM killer) or never started: probe again next
 * time. QEMU turns SIGTERM/SIGINT into a clean exit ("terminating on signal 15"), so a signal shows
 * in its stderr rather than in the exit status.
 */
function conclusive(a: BootAttempt): boolean {
  if (isTearingDown() || a.kind === 'spawn-failed') return false;
  if (a.kind !== 'exited') return true;
  return !(a.signal === 'SIGKILL' || a.signal === 'SIGTERM' || a.signal === 'SIGINT' || /terminating on signal/.test(a.stderr));
}
