// KVM and TCG verdicts, cached per host boot: both rest on the kernel and the QEMU binary, which
// change only with a reboot or a QEMU (re)install. The cache key is /proc/sys/kernel/random/boot_id
// plus the QEMU binary's path, size and mtime; `doctor --no-cache` probes again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cacheDir } from '../core/paths.ts';
import type { Ledger } from '../core/ledger.ts';
import { isTearingDown } from '../core/lifecycle.ts';
import { bootSector } from './bootsector.ts';
import { kvmDevice, kvmVerdict, tryKvm, KVM_DEADLINE_MS } from './probes/kvm.ts';
import { tcgVerdict, tryTcg } from './probes/tcg.ts';
import type { Evidence } from './capabilities.ts';
import type { BootAttempt } from './boot.ts';

export interface AccelVerdicts {
  kvm: Evidence;
  tcg: Evidence;
}

interface QemuIdentity {
  path: string;
  size: number;
  mtimeMs: number;
}

interface CacheRecord {
  bootId: string;
  qemu: QemuIdentity;
  kvmDeadlineMs: number;
  at: string;
  verdicts: AccelVerdicts;
}

export interface AccelOptions {
  qemu?: string;
  bootId: string;
  ledger?: Ledger;
  useCache?: boolean;
  kvmDeadlineMs?: number;
  log?: (line: string) => void;
}

export function accelCacheFile(): string {
  return path.join(cacheDir(), 'doctor', 'accel.json');
}

function identity(qemu: string): QemuIdentity {
  const st = fs.statSync(qemu);
  return { path: qemu, size: st.size, mtimeMs: st.mtimeMs };
}

function readCache(bootId: string, qemu: QemuIdentity, deadline: number): CacheRecord | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(accelCacheFile(), 'utf8')) as CacheRecord;
    const same = r.bootId === bootId && r.kvmDeadlineMs === deadline && JSON.stringify(r.qemu) === JSON.stringify(qemu);
    return same ? r : undefined;
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
    log?.(`kvm/tcg: verdict not cached: ${(e as Error).message}`);
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

export async function probeAccel(o: AccelOptions): Promise<AccelVerdicts & { cachedAt?: string }> {
  if (!o.qemu) {
    const missing = 'qemu-system-x86_64 not found (install: `vnetbench setup`)';
    return { kvm: { ok: false, evidence: `KVM not usable: ${kvmDevice().evidence}; ${missing}` }, tcg: { ok: false, evidence: missing } };
  }
  const deadline = o.kvmDeadlineMs ?? KVM_DEADLINE_MS;
  const id = identity(o.qemu);
  if (o.useCache !== false) {
    const hit = readCache(o.bootId, id, deadline);
    if (hit) {
      o.log?.(`kvm/tcg: using the verdict cached at ${hit.at} for this boot (${accelCacheFile()})`);
      const note = ` [cached ${hit.at}, boot ${o.bootId.slice(0, 8)}]`;
      return {
        kvm: { ...hit.verdicts.kvm, evidence: hit.verdicts.kvm.evidence + note },
        tcg: { ...hit.verdicts.tcg, evidence: hit.verdicts.tcg.evidence + note },
        cachedAt: hit.at,
      };
    }
  }
  o.log?.(`kvm/tcg: booting a probe boot sector under each (KVM deadline ${deadline} ms)`);
  const [tcg, kvm] = await withBootImage((image) =>
    Promise.all([tryTcg(o.qemu!, image, o.ledger), tryKvm(o.qemu!, image, o.ledger, deadline)]),
  );
  const verdicts = { tcg: tcgVerdict(tcg), kvm: kvmVerdict(kvm, tcg) };
  if (conclusive(tcg) && (!kvm.boot || conclusive(kvm.boot))) writeCache({ bootId: o.bootId, qemu: id, kvmDeadlineMs: deadline, at: new Date().toISOString(), verdicts }, o.log);
  return verdicts;
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
