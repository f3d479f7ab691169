// Shared set-up for the guest integration tests: gate on what the host has, build (or reuse) the
// image, and give each test an isolated state dir and work dir that are checked and removed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { succeeds } from '../../../harness/core/exec.ts';
import { ensureImage, type BuiltImage } from '../../../harness/guest/image.ts';
import type { GuestSpec } from '../../../harness/guest/types.ts';

export const QEMU = 'qemu-system-x86_64';

/** Why these tests cannot run here, or undefined. */
export async function missing(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (QEMU process groups, namespaces)';
  if (!(await succeeds([QEMU, '--version']))) return `${QEMU} not installed`;
  return undefined;
}

let image: Promise<BuiltImage> | undefined;
/** Built once per test process (fetches Debian packages into .cache on a fresh checkout). */
export function testImage(): Promise<BuiltImage> {
  image ??= ensureImage();
  return image;
}

/** A private ledger directory so the test can check that its ledger ends empty. */
export function isolateState(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-guest-test-state-'));
  process.env.VNETBENCH_STATE_DIR = dir;
  return dir;
}

export function hubNic(mac = '52:54:00:00:00:02'): string[] {
  return ['-netdev', 'hubport,id=vnbnet0,hubid=0', '-device', `virtio-net-pci,netdev=vnbnet0,mac=${mac}`];
}

export function baseSpec(img: BuiltImage, name: string, workDir: string): GuestSpec {
  return {
    name,
    image: img,
    accel: 'tcg',
    memMiB: 512,
    smp: 1,
    netArgs: hubNic(),
    passFds: [],
    sharedMemory: false,
    ip: '198.18.0.2',
    prefixLen: 24,
    workDir,
    qemuBinary: QEMU,
  };
}

/** Our socket dirs for guest `name` still present in the temp dir. */
export function leftoverSockDirs(name: string): string[] {
  return fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('vnb-') && d.endsWith(`-${name}`));
}

/** Thread names of a process (QEMU's, with debug-threads=on). */
export function threadNames(pid: number): string[] {
  return fs.readdirSync(`/proc/${pid}/task`).map((tid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  });
}
