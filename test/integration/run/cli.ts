// Reading what a run of the real CLI (test/helpers/cli.ts) left: records, ledgers, guest ids.
import fs from 'node:fs';
import path from 'node:path';

export { startCli } from '../../helpers/cli.ts';

export function readRecords(dir: string): Record<string, any>[] {
  const f = path.join(dir, 'results.jsonl');
  if (!fs.existsSync(f)) return [];
  return fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);
}

/** Run ids (6 hex digits) of the ledgers a run has open now. */
export function ledgerIds(stateDir: string): string[] {
  const d = path.join(stateDir, 'ledgers');
  return fs.existsSync(d) ? fs.readdirSync(d).map((f) => path.basename(f, '.jsonl')) : [];
}

export async function waitFor<T>(what: string, fn: () => T | undefined, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Guest names carry the backend ledger's id: vnb-<id>-<backend>. */
export function idsFromManifest(dir: string): string[] {
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { commandLines: Record<string, string[]> };
  return Object.values(m.commandLines).flatMap((argv) => {
    const name = argv[argv.indexOf('-name') + 1] ?? '';
    const id = /^vnb-([0-9a-f]{6})-/.exec(name)?.[1];
    return id ? [id] : [];
  });
}

