// The on-disk ledger of everything a run creates. Each object is appended (fsync'd) *before* it
// is created, so a crash at any point leaves a record that `vnetbench cleanup` can act on.
// Teardown walks the ledger in reverse: processes die before the links they use, links before
// their namespaces, and temp dirs last.
import fs from 'node:fs';
import path from 'node:path';
import { stateDir } from './paths.ts';
import { exec } from './exec.ts';

export type LedgerObject =
  | { kind: 'netns'; name: string }
  | { kind: 'link'; name: string; netns?: string }
  | { kind: 'process'; pid: number; startTime: string; comm: string }
  | { kind: 'file'; path: string } // tap device nodes, sockets, pid files
  | { kind: 'tmpdir'; path: string };

interface Entry {
  op: 'add' | 'remove';
  obj: LedgerObject;
  at: string;
}

export function objectKey(o: LedgerObject): string {
  switch (o.kind) {
    case 'netns':
      return `netns:${o.name}`;
    case 'link':
      return `link:${o.netns ?? ''}:${o.name}`;
    case 'process':
      return `process:${o.pid}:${o.startTime}`;
    case 'file':
    case 'tmpdir':
      return `${o.kind}:${o.path}`;
  }
}

/** Field 22 of /proc/PID/stat: the start time, so a recycled pid is never mistaken for ours. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export class Ledger {
  readonly file: string;
  private fd: number;

  private constructor(readonly runId: string, file: string) {
    this.file = file;
    this.fd = fs.openSync(file, 'a');
  }

  static create(runId: string): Ledger {
    const dir = path.join(stateDir(), 'ledgers');
    fs.mkdirSync(dir, { recursive: true });
    return new Ledger(runId, path.join(dir, `${runId}.jsonl`));
  }

  static open(file: string): Ledger {
    return new Ledger(path.basename(file, '.jsonl'), file);
  }

  static list(): string[] {
    const dir = path.join(stateDir(), 'ledgers');
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).map((f) => path.join(dir, f));
  }

  private write(e: Entry): void {
    fs.writeSync(this.fd, JSON.stringify(e) + '\n');
    fs.fsyncSync(this.fd);
  }

  /** Record before creating. */
  add(obj: LedgerObject): void {
    this.write({ op: 'add', obj, at: new Date().toISOString() });
  }

  /** Record after removing. */
  removed(obj: LedgerObject): void {
    this.write({ op: 'remove', obj, at: new Date().toISOString() });
  }

  /** Objects added and not yet removed, newest first. */
  live(): LedgerObject[] {
    const entries = fs
      .readFileSync(this.file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Entry];
        } catch {
          return []; // a torn last line after a crash
        }
      });
    const live = new Map<string, LedgerObject>();
    for (const e of entries) {
      const k = objectKey(e.obj);
      if (e.op === 'add') live.set(k, e.obj);
      else live.delete(k);
    }
    return [...live.values()].reverse();
  }

  /** Remove every live object; returns what failed (empty when the host is clean). */
  async teardown(log: (msg: string) => void = () => {}): Promise<string[]> {
    const failures: string[] = [];
    const objs = this.live();
    const order: LedgerObject['kind'][] = ['process', 'link', 'netns', 'file', 'tmpdir'];
    for (const kind of order) {
      for (const obj of objs.filter((o) => o.kind === kind)) {
        try {
          await removeObject(obj);
          this.removed(obj);
          log(`removed ${objectKey(obj)}`);
        } catch (err) {
          failures.push(`${objectKey(obj)}: ${(err as Error).message}`);
        }
      }
    }
    if (failures.length === 0) {
      fs.closeSync(this.fd);
      fs.rmSync(this.file, { force: true });
    }
    return failures;
  }
}

async function killAndWait(pid: number, startTime: string): Promise<void> {
  const same = () => processStartTime(pid) === startTime;
  if (!same()) return;
  // Process groups first: QEMU and daemons are started as group leaders.
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
    for (let i = 0; i < 30 && same(); i++) await new Promise((r) => setTimeout(r, 100));
    if (!same()) return;
  }
  // A zombie keeps its start time until reaped; it no longer holds anything.
  const state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
  if (state !== 'Z') throw new Error(`process ${pid} survived SIGKILL`);
}

async function removeObject(obj: LedgerObject): Promise<void> {
  switch (obj.kind) {
    case 'process':
      return killAndWait(obj.pid, obj.startTime);
    case 'link': {
      const argv = obj.netns
        ? ['ip', '-n', obj.netns, 'link', 'del', obj.name]
        : ['ip', 'link', 'del', obj.name];
      const r = await exec(argv, { nothrow: true });
      // Gone already (deleted with its namespace or its peer) counts as removed.
      if (r.code !== 0 && !/Cannot find device|does not exist|No such file/.test(r.stderr)) {
        throw new Error(r.stderr.trim());
      }
      return;
    }
    case 'netns': {
      const r = await exec(['ip', 'netns', 'del', obj.name], { nothrow: true });
      if (r.code !== 0 && !/No such file/.test(r.stderr)) throw new Error(r.stderr.trim());
      return;
    }
    case 'file':
      fs.rmSync(obj.path, { force: true });
      return;
    case 'tmpdir':
      fs.rmSync(obj.path, { recursive: true, force: true });
      return;
  }
}
