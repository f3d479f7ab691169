// The on-disk ledger of everything a run creates or changes. Each object is appended (fsync'd)
// *before* it is created, so a crash at any point leaves a record that `vnetbench cleanup` can
// act on. Teardown walks the ledger kind by kind: processes die before the links they use,
// settings on real NICs are put back, links go before their namespaces, a NIC moved into a
// namespace goes home before that namespace is deleted, and files and temp dirs go last.
import fs from 'node:fs';
import path from 'node:path';
import { stateDir } from './paths.ts';
import { exec, type CommandResult } from './exec.ts';

/** Settings a run changed on a link it did not create, and the values to put back. */
export interface LinkRestore {
  up?: boolean;
  mtu?: number;
  /** ethtool -K feature names (e.g. "tso") and their original state. */
  offloads?: Record<string, 'on' | 'off'>;
}

export type LedgerObject =
  | { kind: 'netns'; name: string }
  | { kind: 'link'; name: string; netns?: string }
  /** A link the run did not create (a real NIC), moved from the harness's namespace into `netns`. */
  | { kind: 'moved-link'; name: string; netns: string; restore: LinkRestore }
  /** Settings changed on a link the run did not create. */
  | { kind: 'link-settings'; name: string; netns?: string; restore: LinkRestore }
  | { kind: 'process'; pid: number; startTime: string; comm: string }
  | { kind: 'file'; path: string } // tap device nodes, sockets, pid files
  /** onlyIfEmpty: a shared parent (e.g. /run/dpdk) the run created: removed only when empty. */
  | { kind: 'tmpdir'; path: string; onlyIfEmpty?: boolean };

/** What records objects: a Ledger, or a LedgerScope over one. */
export interface Recorder {
  add(obj: LedgerObject): void;
  make<T>(obj: LedgerObject, create: () => Promise<T>): Promise<T>;
  readonly isClosing: boolean;
}

export interface LedgerOwner {
  pid: number;
  startTime: string;
  argv: string[];
}

type Entry =
  | { op: 'add' | 'remove'; obj: LedgerObject; at: string }
  | { op: 'owner'; owner: LedgerOwner; at: string };

export function objectKey(o: LedgerObject): string {
  switch (o.kind) {
    case 'netns':
      return `netns:${o.name}`;
    case 'link':
      return `link:${o.netns ?? ''}:${o.name}`;
    case 'moved-link':
      return `moved-link:${o.name}`;
    case 'link-settings':
      return `link-settings:${o.netns ?? ''}:${o.name}:${restoreFields(o.restore).join(',')}`;
    case 'process':
      return `process:${o.pid}:${o.startTime}`;
    case 'file':
    case 'tmpdir':
      return `${o.kind}:${o.path}`;
  }
}

function restoreFields(r: LinkRestore): string[] {
  const f: string[] = [];
  if (r.up !== undefined) f.push('up');
  if (r.mtu !== undefined) f.push('mtu');
  for (const k of Object.keys(r.offloads ?? {}).sort()) f.push(`offload.${k}`);
  return f;
}

/** Field 22 of /proc/PID/stat: the start time, so a recycled pid is never mistaken for ours. */
export function processStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** Process state letter (R, S, Z, ...) or undefined when the pid does not exist. */
export function processState(pid: number): string | undefined {
  return statFields(pid)?.[0];
}

function statFields(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie: a zombie holds no fds, memory or devices any more. */
export function processAlive(pid: number, startTime?: string): boolean {
  const f = statFields(pid);
  if (!f || f[0] === 'Z') return false;
  return startTime === undefined || f[19] === startTime;
}

/** Order in which teardown removes kinds (see the file comment). */
export const TEARDOWN_ORDER: readonly LedgerObject['kind'][] = [
  'process',
  'link-settings',
  'link',
  'moved-link',
  'netns',
  'file',
  'tmpdir',
];

const PENDING_WAIT_MS = 15_000;

export class Ledger implements Recorder {
  readonly file: string;
  private fd: number | undefined;
  private done = false;
  private closing = false;
  private pending = new Set<Promise<unknown>>();
  private teardownPromise: Promise<string[]> | undefined;

  private constructor(readonly runId: string, file: string) {
    this.file = file;
  }

  /** A new ledger owned by this process (cleanup leaves ledgers of live owners alone). */
  static create(runId: string): Ledger {
    const dir = path.join(stateDir(), 'ledgers');
    fs.mkdirSync(dir, { recursive: true });
    const l = new Ledger(runId, path.join(dir, `${runId}.jsonl`));
    const startTime = processStartTime(process.pid) ?? '';
    l.write({ op: 'owner', owner: { pid: process.pid, startTime, argv: process.argv }, at: now() });
    return l;
  }

  static open(file: string): Ledger {
    return new Ledger(path.basename(file, '.jsonl'), file);
  }

  static list(): string[] {
    const dir = path.join(stateDir(), 'ledgers');
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .map((f) => path.join(dir, f));
  }

  private write(e: Entry): void {
    if (this.done) throw new Error(`ledger ${this.runId} is closed`);
    // Opened on first write: reading someone else's ledger (cleanup, the orphan sweep) holds no fd.
    this.fd ??= fs.openSync(this.file, 'a');
    fs.writeSync(this.fd, JSON.stringify(e) + '\n');
    fs.fsyncSync(this.fd);
  }

  private entries(): Entry[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return []; // removed after a complete teardown
    }
    return text
      .split('\n')
      .filter(Boolean)
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Entry];
        } catch {
          return []; // a torn last line after a crash
        }
      });
  }

  /** True once teardown began: callers stop configuring what is about to be removed. */
  get isClosing(): boolean {
    return this.closing;
  }

  /** Record before creating. Refused once teardown has begun, so nothing new appears behind it. */
  add(obj: LedgerObject): void {
    if (this.closing) throw new Error(`run ${this.runId} is being torn down; not creating ${objectKey(obj)}`);
    this.write({ op: 'add', obj, at: now() });
  }

  /**
   * Record `obj`, then run `create`. Teardown waits for creations in flight, so an object whose
   * command was already running when a signal came is removed too.
   */
  async make<T>(obj: LedgerObject, create: () => Promise<T>): Promise<T> {
    this.add(obj);
    const p = create();
    this.pending.add(p);
    try {
      return await p;
    } finally {
      this.pending.delete(p);
    }
  }

  /** Record after removing. */
  removed(obj: LedgerObject): void {
    this.write({ op: 'remove', obj, at: now() });
  }

  /** A view that remembers what it recorded, so one component (a backend) can remove just its own objects. */
  scope(): LedgerScope {
    return new LedgerScope(this);
  }

  /**
   * Remove these objects now, in teardown order, and mark them removed. Returns what failed;
   * those stay live for teardown and cleanup.
   */
  async removeNow(objs: LedgerObject[], log: (msg: string) => void = () => {}): Promise<string[]> {
    const failures: string[] = [];
    for (const kind of TEARDOWN_ORDER) {
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
    return failures;
  }

  owner(): LedgerOwner | undefined {
    for (const e of this.entries()) if (e.op === 'owner') return e.owner;
    return undefined;
  }

  /** True while the process that created this ledger runs (its run may still be using the objects). */
  ownerAlive(): boolean {
    const o = this.owner();
    return o !== undefined && o.pid !== process.pid && processAlive(o.pid, o.startTime);
  }

  /** Objects added and not yet removed, newest first. A re-add keeps the first record. */
  live(): LedgerObject[] {
    const live = new Map<string, LedgerObject>();
    for (const e of this.entries()) {
      if (e.op === 'owner') continue;
      const k = objectKey(e.obj);
      if (e.op === 'add') {
        // The first record of a setting holds the original value; a later one would hold ours.
        if (!live.has(k)) live.set(k, e.obj);
      } else live.delete(k);
    }
    return [...live.values()].reverse();
  }

  /**
   * Remove every live object; returns what failed (empty when the host is clean). Concurrent
   * calls share one teardown; after a partial failure a later call tries the rest again.
   */
  teardown(log: (msg: string) => void = () => {}): Promise<string[]> {
    this.teardownPromise ??= this.doTeardown(log).then((failures) => {
      if (failures.length) this.teardownPromise = undefined;
      return failures;
    });
    return this.teardownPromise;
  }

  private async doTeardown(log: (msg: string) => void): Promise<string[]> {
    this.closing = true;
    await waitPending([...this.pending], PENDING_WAIT_MS, log);
    const failures = await this.removeNow(this.live(), log);
    if (failures.length === 0) {
      if (this.fd !== undefined) fs.closeSync(this.fd);
      this.fd = undefined;
      this.done = true;
      fs.rmSync(this.file, { force: true });
    }
    return failures;
  }
}

/** What one component recorded; release() removes exactly that, newest first within each kind. */
export class LedgerScope implements Recorder {
  private objs: LedgerObject[] = [];
  constructor(readonly ledger: Ledger) {}

  get isClosing(): boolean {
    return this.ledger.isClosing;
  }

  add(obj: LedgerObject): void {
    this.ledger.add(obj);
    this.objs.unshift(obj);
  }

  make<T>(obj: LedgerObject, create: () => Promise<T>): Promise<T> {
    this.objs.unshift(obj);
    return this.ledger.make(obj, create);
  }

  recorded(): LedgerObject[] {
    return [...this.objs];
  }

  /** Remove some of this scope's objects before the rest (a daemon the backend stops itself). */
  removeNow(objs: LedgerObject[], log?: (msg: string) => void): Promise<string[]> {
    return this.ledger.removeNow(objs, log);
  }

  /** Remove what this scope recorded (objects already gone count as removed). */
  async release(log?: (msg: string) => void): Promise<string[]> {
    const live = new Set(this.ledger.live().map(objectKey));
    const mine = this.objs.filter((o) => live.has(objectKey(o)));
    this.objs = [];
    return this.ledger.removeNow(mine, log);
  }
}

function now(): string {
  return new Date().toISOString();
}

async function waitPending(pending: Promise<unknown>[], ms: number, log: (m: string) => void): Promise<void> {
  if (pending.length === 0) return;
  log(`waiting for ${pending.length} creation(s) in flight`);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((r) => (timer = setTimeout(r, ms)));
  await Promise.race([Promise.allSettled(pending), timeout]);
  clearTimeout(timer);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function killAndWait(pid: number, startTime: string, group = true): Promise<void> {
  const alive = () => processAlive(pid, startTime);
  if (!alive()) return;
  // Process groups first: QEMU and daemons are started as group leaders.
  for (const [sig, waitMs] of [
    ['SIGTERM', 3000],
    ['SIGKILL', 5000],
  ] as const) {
    try {
      if (!group) throw new Error('single process');
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
    for (let t = 0; t < waitMs && alive(); t += 50) await sleep(50);
    if (!alive()) return;
  }
  throw new Error(`process ${pid} survived SIGKILL (state ${processState(pid)})`);
}

/**
 * Options for the commands that remove objects. They run in their own process group: a Ctrl-C
 * reaches every process in the harness's group, and one that arrives while teardown is running an
 * `ip link del` would kill it half-way. The link would then be recorded as "left" and the ledger
 * file kept, although the link goes with its namespace.
 */
const REMOVAL = { nothrow: true, ownGroup: true } as const;

/** Why a removal command failed: its stderr, else how it ended. */
function why(r: CommandResult): string {
  return r.stderr.trim() || (r.signal ? `killed by ${r.signal}` : `exit ${r.code}`);
}

/**
 * Processes still running inside one of our namespaces (a workload server a crashed run started)
 * would keep it, and its links, alive after `ip netns del`: they belong to the run and go first.
 */
async function killProcessesIn(netns: string): Promise<void> {
  const r = await exec(['ip', 'netns', 'pids', netns], REMOVAL);
  if (r.code !== 0) return;
  for (const pid of r.stdout.split(/\s+/).filter(Boolean).map(Number)) {
    if (pid === process.pid) continue;
    const startTime = processStartTime(pid);
    if (startTime !== undefined) await killAndWait(pid, startTime, false);
  }
}

const GONE = /Cannot find device|does not exist|No such file|No such device|not found/i;

async function ipLink(netns: string | undefined, args: string[]) {
  return exec(netns ? ['ip', '-n', netns, 'link', ...args] : ['ip', 'link', ...args], REMOVAL);
}

async function linkExists(name: string, netns?: string): Promise<boolean> {
  return (await ipLink(netns, ['show', 'dev', name])).code === 0;
}

/** Put back settings on a link; a link that no longer exists has nothing to restore. */
async function restoreLink(name: string, netns: string | undefined, r: LinkRestore): Promise<void> {
  if (!(await linkExists(name, netns))) return;
  const run = async (argv: string[]) => {
    const res = await exec(argv, REMOVAL);
    if (res.code !== 0 && !GONE.test(res.stderr)) throw new Error(why(res));
  };
  const inNs = (argv: string[]) => (netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv);
  const offloads = Object.entries(r.offloads ?? {});
  if (offloads.length) await run(inNs(['ethtool', '-K', name, ...offloads.flat()]));
  if (r.mtu !== undefined) await run(netns ? ['ip', '-n', netns, 'link', 'set', 'dev', name, 'mtu', String(r.mtu)] : ['ip', 'link', 'set', 'dev', name, 'mtu', String(r.mtu)]);
  if (r.up !== undefined) {
    const state = r.up ? 'up' : 'down';
    await run(netns ? ['ip', '-n', netns, 'link', 'set', 'dev', name, state] : ['ip', 'link', 'set', 'dev', name, state]);
  }
}

/** Move a NIC back into the namespace this process runs in (the one it was taken from). */
async function moveLinkHome(obj: Extract<LedgerObject, { kind: 'moved-link' }>): Promise<void> {
  if (await linkExists(obj.name, obj.netns)) {
    const r = await exec(['ip', '-n', obj.netns, 'link', 'set', 'dev', obj.name, 'netns', String(process.pid)], REMOVAL);
    if (r.code !== 0) throw new Error(`moving ${obj.name} back from ${obj.netns}: ${why(r)}`);
  } else if (!(await linkExists(obj.name))) {
    // A physical NIC returns to the initial namespace when its namespace is deleted; if it is
    // in neither place, someone renamed or removed it and a person has to look.
    throw new Error(`moved link ${obj.name} is neither in namespace ${obj.netns} nor in this namespace`);
  }
  await restoreLink(obj.name, undefined, obj.restore);
}

export async function removeObject(obj: LedgerObject): Promise<void> {
  switch (obj.kind) {
    case 'process':
      return killAndWait(obj.pid, obj.startTime);
    case 'link': {
      const r = await ipLink(obj.netns, ['del', obj.name]);
      // Gone already (deleted with its namespace or its peer) counts as removed.
      if (r.code !== 0 && !GONE.test(r.stderr)) throw new Error(why(r));
      return;
    }
    case 'link-settings':
      return restoreLink(obj.name, obj.netns, obj.restore);
    case 'moved-link':
      return moveLinkHome(obj);
    case 'netns': {
      await killProcessesIn(obj.name);
      const r = await exec(['ip', 'netns', 'del', obj.name], REMOVAL);
      if (r.code !== 0 && !GONE.test(r.stderr)) throw new Error(why(r));
      return;
    }
    case 'file':
      fs.rmSync(obj.path, { force: true });
      return;
    case 'tmpdir':
      if (obj.onlyIfEmpty) {
        try {
          fs.rmdirSync(obj.path);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
        }
        return;
      }
      fs.rmSync(obj.path, { recursive: true, force: true });
      return;
  }
}
