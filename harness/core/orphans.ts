// Find objects carrying our name prefix that no live run owns (a run killed with SIGKILL before
// its ledger was cleaned, or a ledger someone deleted) and remove them. Only names matching our
// patterns are touched, and never those of a run that is still alive: ids recorded in ledgers
// whose owner process runs, and ids carried by processes whose parent is still alive (a run's
// QEMU or testpmd is a child of its harness; a crashed harness's children are re-parented to
// PID 1).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exec } from './exec.ts';
import { Ledger, processAlive, processStartTime, removeObject, type LedgerObject } from './ledger.ts';
import { OUR_LINK, OUR_NETNS } from './names.ts';

/** The run id in one of our names: `vnb-<id>-role` (namespaces, markers) or `vnb<id>role` (links). */
export function idOf(name: string): string | undefined {
  return /(?:^|[^0-9A-Za-z])vnb-?([0-9a-f]{6})/.exec(name)?.[1];
}

/**
 * Ids a process's command line marks it as belonging to: an argument holding `vnb-<id>-`, as
 * QEMU's `-name vnb-<id>-guest` and testpmd's `--file-prefix vnb-<id>-testpmd` do.
 */
export function markerIds(argv: readonly string[]): string[] {
  const ids = new Set<string>();
  for (const a of argv) for (const m of a.matchAll(/(?:^|[^0-9A-Za-z])vnb-([0-9a-f]{6})-/g)) ids.add(m[1]!);
  return [...ids];
}

export interface MarkedProcess {
  pid: number;
  ppid: number;
  startTime: string;
  comm: string;
  argv: string[];
  ids: string[];
}

/** Directories whose `vnb-<id>-*` entries are ours: device nodes, DPDK runtime dirs, temp dirs. */
export function orphanDirs(): string[] {
  return ['/dev', '/run/dpdk', os.tmpdir()];
}

export interface OurObjects {
  namespaces: string[];
  /** Links in this process's namespace (ours inside our namespaces go with them). */
  links: string[];
  processes: MarkedProcess[];
  /** Device nodes, DPDK runtime dirs and temp dirs named vnb-<id>-*. */
  paths: string[];
}

export async function listNamespaces(): Promise<string[]> {
  const r = await exec(['ip', '-j', 'netns', 'list'], { nothrow: true });
  if (r.code !== 0 || !r.stdout.trim()) return [];
  return (JSON.parse(r.stdout) as { name: string }[]).map((x) => x.name);
}

export async function listLinks(netns?: string): Promise<string[]> {
  const r = await exec(netns ? ['ip', '-n', netns, '-j', 'link', 'show'] : ['ip', '-j', 'link', 'show'], {
    nothrow: true,
  });
  if (r.code !== 0 || !r.stdout.trim()) return [];
  return (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname);
}

function readArgv(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

function statOf(pid: number): { comm: string; state: string; ppid: number } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), state: rest[0]!, ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

/** This process and its ancestors: never candidates, whatever their command lines say. */
function selfAndAncestors(): Set<number> {
  const out = new Set<number>();
  for (let pid = process.pid; pid > 0 && !out.has(pid); ) {
    out.add(pid);
    pid = statOf(pid)?.ppid ?? 0;
  }
  return out;
}

export function listMarkedProcesses(): MarkedProcess[] {
  const skip = selfAndAncestors();
  const out: MarkedProcess[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    if (skip.has(pid)) continue;
    const argv = readArgv(pid);
    const ids = markerIds(argv);
    const st = statOf(pid);
    if (ids.length === 0 || !st || st.state === 'Z') continue;
    out.push({ pid, ppid: st.ppid, startTime: processStartTime(pid) ?? '', comm: st.comm, argv, ids });
  }
  return out;
}

export function listOurPaths(): string[] {
  const out: string[] = [];
  for (const dir of orphanDirs()) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) if (/^vnb-[0-9a-f]{6}-/.test(n)) out.push(path.join(dir, n));
  }
  return out;
}

export async function listOurObjects(): Promise<OurObjects> {
  return {
    namespaces: (await listNamespaces()).filter((n) => OUR_NETNS.test(n)),
    links: (await listLinks()).filter((n) => OUR_LINK.test(n)),
    processes: listMarkedProcesses(),
    paths: listOurPaths(),
  };
}

function namesIn(o: LedgerObject): string[] {
  switch (o.kind) {
    case 'netns':
    case 'link':
    case 'moved-link':
    case 'link-settings':
      return [o.name, ...('netns' in o && o.netns ? [o.netns] : [])];
    case 'process':
      return [o.comm];
    case 'file':
    case 'tmpdir':
      return [path.basename(o.path)];
  }
}

/** Ids some live run still owns; the sweep leaves them alone. */
export function protectedIds(procs: MarkedProcess[]): Set<string> {
  const ids = new Set<string>();
  for (const file of Ledger.list()) {
    const l = Ledger.open(file);
    if (!l.ownerAlive()) continue;
    for (const o of l.live()) for (const n of namesIn(o)) {
      const id = idOf(n);
      if (id) ids.add(id);
    }
    if (/^[0-9a-f]{6}$/.test(l.runId)) ids.add(l.runId);
  }
  for (const p of procs) {
    const parentAlive = p.ppid > 1 && processAlive(p.ppid);
    if (parentAlive && markerIds(readArgv(p.ppid)).length === 0) for (const id of p.ids) ids.add(id);
  }
  return ids;
}

export interface SweepOptions {
  /** Only objects of these run ids (tests use this so parallel runs on the host are never touched). */
  onlyIds?: ReadonlySet<string>;
  /** Ignore the live-run protection (a run whose harness is alive but hung). */
  force?: boolean;
  /** Objects a ledger already accounts for (a dry run lists them there, not again here). */
  known?: LedgerObject[];
}

function knownKeys(objs: LedgerObject[]): Set<string> {
  const keys = new Set<string>();
  for (const o of objs) {
    if (o.kind === 'netns' || (o.kind === 'link' && !o.netns)) keys.add(`name:${o.name}`);
    else if (o.kind === 'process') keys.add(`pid:${o.pid}`);
    else if (o.kind === 'file' || o.kind === 'tmpdir') keys.add(`path:${o.path}`);
  }
  return keys;
}

export async function sweepOrphans(
  dryRun: boolean,
  log: (m: string) => void,
  opts: SweepOptions = {},
): Promise<number> {
  const found = await listOurObjects();
  const guard = opts.force ? new Set<string>() : protectedIds(found.processes);
  const wanted = (name: string): boolean => {
    const id = idOf(name);
    if (!id || guard.has(id)) return false;
    return !opts.onlyIds || opts.onlyIds.has(id);
  };
  const known = knownKeys(opts.known ?? []);
  const verb = dryRun ? 'would remove' : 'removing';
  let n = 0;
  const act = async (what: string, obj: LedgerObject) => {
    log(`${verb} orphan ${what}`);
    n++;
    if (!dryRun) await removeObject(obj);
  };
  // Same order as a ledger teardown: processes, links, namespaces, then files.
  for (const p of found.processes.filter((x) => !known.has(`pid:${x.pid}`))) {
    const ids = p.ids.filter((id) => wanted(`vnb-${id}-`));
    if (ids.length === p.ids.length && ids.length > 0) {
      await act(`process ${p.pid} (${p.comm}, run ${ids.join(',')})`, { kind: 'process', pid: p.pid, startTime: p.startTime, comm: p.comm });
    }
  }
  for (const l of found.links.filter((x) => wanted(x) && !known.has(`name:${x}`))) await act(`link ${l}`, { kind: 'link', name: l });
  for (const ns of found.namespaces.filter((x) => wanted(x) && !known.has(`name:${x}`))) await act(`namespace ${ns}`, { kind: 'netns', name: ns });
  for (const p of found.paths.filter((x) => wanted(path.basename(x)) && !known.has(`path:${x}`))) {
    const isDir = fs.lstatSync(p, { throwIfNoEntry: false })?.isDirectory();
    await act(`${isDir ? 'directory' : 'file'} ${p}`, isDir ? { kind: 'tmpdir', path: p } : { kind: 'file', path: p });
  }
  return n;
}
