// Where vnetbench keeps things. Everything can be moved with environment variables so tests
// and CI can isolate runs.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Downloaded packages, built guest images, probe caches. Survives reboots. */
export function cacheDir(): string {
  return process.env.VNETBENCH_CACHE ?? path.join(PROJECT_ROOT, '.cache');
}

/** Ledgers of live runs. On tmpfs (/run) because what they describe dies with the boot too. */
export function stateDir(): string {
  return process.env.VNETBENCH_STATE_DIR ?? '/run/vnetbench';
}

export function fixturesDir(): string {
  return path.join(PROJECT_ROOT, 'fixtures');
}
