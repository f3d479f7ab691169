// Kill soak (run through ci/kill-loop.sh, which holds the guest lock): start a small
// `vnetbench run` N times, kill it at a chosen moment (setup, boot, measurement, teardown) with
// SIGINT, SIGTERM or SIGKILL, run `vnetbench cleanup` after SIGKILL, and check after every round
// that the host is as it was before the loop: no namespaces, links, tap or macvtap nodes,
// processes, sockets, temp dirs or ledgers left, and the host's own links, addresses, routes and
// sysctls unchanged. Prints "N rounds, K leftovers" (K = rounds that left something) and exits 1
// when K > 0.
//
//   node --import tsx ci/kill-loop.ts N [--seed S] [--backends copy,macvtap] [--cleanup round|all]
//                                       [--signals SIGINT,SIGTERM,SIGKILL] [--phases setup,boot,...]
//
// How a round hits a phase: a first, unkilled run measures how long each phase of each backend
// lasts; a round then picks a (signal, phase) pair (every block of 12 rounds covers all pairs in
// random order) and a backend, waits until the run is observed in that phase, and strikes at a
// uniformly random point of the phase's measured length. The phase is read from outside, as a
// user would see it: the run's log lines (`qemu pid N`, `<backend>: guest ready`), its
// results.jsonl (the cell's record ends the measurement) and its ledgers (a backend's ledger
// file disappears when its teardown is complete). The phase recorded is the one observed at the
// moment the signal is sent.
//
// Who is signalled: SIGINT goes to the run's process group (npx, tsx and the node process
// running main.ts), as Ctrl-C in a terminal does; SIGTERM and SIGKILL go to the node process
// running harness/cli/main.ts (the deepest process of the tree whose command line names
// main.ts, checked against the owner pid its ledgers record).
//
// Cleanup after SIGKILL is `vnetbench cleanup --run <ids>` with the ids of the ledgers this round
// created (`--cleanup all`: plain `vnetbench cleanup`, which also sweeps orphans of other runs:
// only for a host nobody else uses). Other people's runs on a shared host are never touched, and
// objects whose vnb id is not one of this round's are reported as foreign, not counted.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT, stateDir } from '../harness/core/paths.ts';
import { prng } from '../harness/core/prng.ts';

// ---------------------------------------------------------------------------------------------
// Options

type Sig = 'SIGINT' | 'SIGTERM' | 'SIGKILL';
type Phase = 'setup' | 'boot' | 'measurement' | 'teardown';
const SIGNALS: readonly Sig[] = ['SIGINT', 'SIGTERM', 'SIGKILL'];
const PHASES: readonly Phase[] = ['setup', 'boot', 'measurement', 'teardown'];

interface Options {
  rounds: number;
  seed: number;
  backends: string[];
  cleanupScope: 'round' | 'all';
  exitWaitMs: number;
  /** Restrict the (signal, phase) pairs, e.g. to reproduce one finding. */
  signals: Sig[];
  phases: Phase[];
}

function usage(msg: string): never {
  process.stderr.write(`kill-loop: ${msg}\nusage: ci/kill-loop.sh N [--seed S] [--backends copy,macvtap] [--cleanup round|all] [--signals SIGINT,...] [--phases setup,...]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const o: Options = { rounds: 0, seed: Date.now() % 2 ** 31, backends: ['copy', 'macvtap'], cleanupScope: 'round', exitWaitMs: 60_000, signals: [...SIGNALS], phases: [...PHASES] };
  const rest = [...argv];
  const value = (flag: string): string => rest.shift() ?? usage(`${flag} needs a value`);
  let n: string | undefined;
  while (rest.length) {
    const a = rest.shift()!;
    if (a === '--seed') o.seed = Number(value(a));
    else if (a === '--backends') o.backends = value(a).split(',').filter(Boolean);
    else if (a === '--signals') o.signals = value(a).split(',').map((x) => (SIGNALS.includes(x as Sig) ? (x as Sig) : usage(`--signals: ${x}?`)));
    else if (a === '--phases') o.phases = value(a).split(',').map((x) => (PHASES.includes(x as Phase) ? (x as Phase) : usage(`--phases: ${x}?`)));
    else if (a === '--cleanup') {
      const v = value(a);
      if (v !== 'round' && v !== 'all') usage(`--cleanup ${v}: round or all`);
      o.cleanupScope = v;
    } else if (/^\d+$/.test(a) && n === undefined) n = a;
    else usage(`unexpected argument ${JSON.stringify(a)}`);
  }
  o.rounds = Number(n ?? usage('N (the number of rounds) is required'));
  if (!Number.isInteger(o.rounds) || o.rounds < 1) usage('N must be a positive integer');
  if (!Number.isInteger(o.seed)) usage('--seed must be an integer');
  for (const b of o.backends) if (!/^[a-z-]+$/.test(b)) usage(`--backends: bad name ${JSON.stringify(b)}`);
  return o;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// /proc

interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
  start: string;
  comm: string;
  argv: string[];
}

function procInfo(pid: number): ProcInfo | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    let argv: string[] = [];
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      /* exited between the two reads */
    }
    return { pid, ppid: Number(f[1]), pgrp: Number(f[2]), state: f[0]!, start: f[19]!, comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), argv };
  } catch {
    return undefined;
  }
}

function allProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const p = procInfo(Number(d));
    if (p) out.push(p);
  }
  return out;
}

function alive(pid: number, start?: string): boolean {
  const p = procInfo(pid);
  return p !== undefined && p.state !== 'Z' && (start === undefined || p.start === start);
}

/** Pids of root and everything below it. */
function descendants(procs: ProcInfo[], root: number): ProcInfo[] {
  const kids = new Map<number, ProcInfo[]>();
  for (const p of procs) kids.set(p.ppid, [...(kids.get(p.ppid) ?? []), p]);
  const out: ProcInfo[] = [];
  const stack = procs.filter((p) => p.pid === root);
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(kids.get(p.pid) ?? []));
  }
  return out;
}

const TSX_CLI = /(?:node_modules\/\.bin\/tsx|tsx\/dist\/cli\.mjs)$/;
const TSX_LOADER = /tsx\/dist\/(?:preflight\.cjs|loader\.mjs)$/;

/**
 * The node process that runs main.ts under `npx tsx`: npm exec -> sh -c tsx ... main.ts -> node
 * tsx/cli (a wrapper that relays signals) -> node --require preflight --import loader main.ts.
 * sh and both node processes name main.ts (and so does npx before npm sets its title); the
 * harness is the node that loads tsx's preflight/loader. Undefined until the wrapper started it.
 */
function harnessOf(procs: ProcInfo[], root: number): ProcInfo | undefined {
  return descendants(procs, root).find(
    (p) =>
      path.basename(p.argv[0] ?? '') === 'node' &&
      p.argv.some((a) => a.endsWith('harness/cli/main.ts')) &&
      p.argv.some((a) => TSX_LOADER.test(a)) &&
      !p.argv.some((a) => TSX_CLI.test(a)),
  );
}

// ---------------------------------------------------------------------------------------------
// Host state: what the loop compares after every round with the snapshot taken before it.

type HostState = Map<string, string>;

const TOOLS = /^(qemu-system-.*|netserver|netperf|iperf3|sockperf|dpdk-testpmd|testpmd)$/;
const MARKER = /(?:^|[^0-9A-Za-z])vnb-[0-9a-f]{6}-/;
const SYSCTLS = [
  'net/ipv4/ip_forward',
  'net/ipv4/conf/all/forwarding',
  'net/ipv4/conf/default/forwarding',
  'net/ipv6/conf/all/forwarding',
  'net/ipv6/conf/all/disable_ipv6',
  'net/ipv6/conf/default/disable_ipv6',
  'net/ipv4/conf/all/rp_filter',
  'net/ipv4/conf/all/arp_ignore',
  'net/ipv4/conf/all/proxy_arp',
  'net/bridge/bridge-nf-call-iptables',
  'net/bridge/bridge-nf-call-ip6tables',
  'net/core/rmem_max',
  'net/core/wmem_max',
  'net/core/netdev_max_backlog',
  'kernel/io_uring_disabled',
  'fs/aio-max-nr',
  'vm/nr_hugepages',
];

function run(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout : '';
}

function json<T>(text: string): T[] {
  try {
    return text.trim() ? (JSON.parse(text) as T[]) : [];
  } catch {
    return [];
  }
}

function readdir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Socket files under dir (depth-limited; the loop's own work dir is skipped). */
function socketsUnder(dir: string, depth: number, skip: string, out: string[]): void {
  for (const n of readdir(dir)) {
    const p = path.join(dir, n);
    if (p === skip) continue;
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isSocket()) out.push(p);
    else if (st.isDirectory() && depth > 0) socketsUnder(p, depth - 1, skip, out);
  }
}

function snapshot(selfTree: Set<number>, workDir: string): HostState {
  const s: HostState = new Map();
  for (const ns of json<{ name: string }>(run(['ip', '-j', 'netns', 'list']))) s.set(`netns ${ns.name}`, '');
  type Link = { ifname: string; flags?: string[]; mtu?: number; master?: string; address?: string; linkinfo?: { info_kind?: string } };
  for (const l of json<Link>(run(['ip', '-j', '-d', 'link', 'show']))) {
    const v = { flags: [...(l.flags ?? [])].sort(), mtu: l.mtu, master: l.master, address: l.address, kind: l.linkinfo?.info_kind };
    s.set(`link ${l.ifname}`, JSON.stringify(v));
  }
  type Addr = { ifname: string; addr_info?: { family: string; local: string; prefixlen: number }[] };
  for (const a of json<Addr>(run(['ip', '-j', 'addr', 'show']))) {
    for (const i of a.addr_info ?? []) s.set(`addr ${a.ifname} ${i.local}/${i.prefixlen}`, '');
  }
  for (const fam of ['-4', '-6']) {
    for (const line of run(['ip', fam, 'route', 'show', 'table', 'all']).split('\n')) {
      const r = line.replace(/\s+expires \S+/, '').trim();
      if (r) s.set(`route${fam} ${r}`, '');
    }
  }
  for (const n of readdir('/dev')) if (/^tap\d+$/.test(n) || n.startsWith('vnb-')) s.set(`devnode /dev/${n}`, '');
  for (const p of allProcs()) {
    if (selfTree.has(p.pid)) continue;
    const exe = path.basename(p.argv[0] ?? '');
    const ours = p.argv.some((a) => MARKER.test(a)) || TOOLS.test(exe) || TOOLS.test(p.comm) || p.argv.includes('aio-tap');
    if (!ours) continue;
    const desc = `${p.comm}${p.state === 'Z' ? ' <zombie>' : ''}: ${p.argv.join(' ').slice(0, 160)}`;
    s.set(`${p.state === 'Z' ? 'zombie' : 'process'} ${p.pid}/${p.start}`, desc);
  }
  const tmpDirs = [...new Set(['/tmp', os.tmpdir()])];
  const socks: string[] = [];
  for (const d of tmpDirs) socketsUnder(d, 3, workDir, socks);
  socketsUnder(stateDir(), 4, workDir, socks);
  for (const p of socks) s.set(`socket ${p}`, '');
  for (const d of tmpDirs) {
    for (const n of readdir(d)) {
      const p = path.join(d, n);
      const isDir = fs.lstatSync(p, { throwIfNoEntry: false })?.isDirectory();
      if ((n.startsWith('vnb-') && isDir) || /^vnb-[0-9a-f]{6}-/.test(n)) s.set(`tmp ${p}`, '');
    }
  }
  for (const n of readdir('/run/dpdk')) if (n.startsWith('vnb-')) s.set(`dpdk /run/dpdk/${n}`, '');
  for (const n of readdir(path.join(stateDir(), 'ledgers'))) s.set(`ledger ${path.join(stateDir(), 'ledgers', n)}`, '');
  for (const line of readFile('/proc/self/mountinfo').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp && (mp.startsWith('/run/netns/') || mp.includes('vnb'))) s.set(`mount ${mp}`, '');
  }
  for (const k of SYSCTLS) {
    const v = readFile(`/proc/sys/${k}`).trim();
    if (v) s.set(`sysctl ${k.replaceAll('/', '.')}`, v);
  }
  return s;
}

function readFile(p: string): string {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

interface Difference {
  key: string;
  what: string;
}

function diff(base: HostState, now: HostState): Difference[] {
  const out: Difference[] = [];
  for (const [k, v] of now) {
    if (k.startsWith('zombie ')) continue; // holds nothing; reaping is PID 1's job (reported apart)
    if (!base.has(k)) out.push({ key: k, what: `${k}${v && !k.startsWith('process ') ? ` = ${v}` : v ? ` (${v})` : ''} [new]` });
    else if (base.get(k) !== v) out.push({ key: k, what: `${k} changed: ${base.get(k)} -> ${v}` });
  }
  for (const [k, v] of base) {
    if (k.startsWith('zombie ') || now.has(k)) continue;
    // A process that was running before the loop may end on its own (someone else's job).
    if (k.startsWith('process ')) continue;
    out.push({ key: k, what: `${k}${v ? ` = ${v}` : ''} [gone since the snapshot]` });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// One run of the harness, watched from outside.

interface Observed {
  phase: Phase | 'exited';
  backend: string;
}

class WatchedRun {
  readonly child: ChildProcess;
  readonly started = Date.now();
  harness: ProcInfo | undefined;
  stderr = '';
  stdout = '';
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Every pid seen in the run's tree (QEMU and servers included, before any reparenting). */
  readonly pids = new Map<number, string>();
  /** This run's ledgers (owner = the harness): file -> last content seen. */
  readonly ledgers = new Map<string, string>();
  readonly foreignLedgers = new Set<string>();
  /** Owners of this run's ledgers that are not the process taken for the harness (a bug here). */
  readonly wrongOwner = new Set<number>();
  /** When each (phase, backend) was first observed. */
  readonly entered = new Map<string, number>();
  private lastTreeScan = 0;

  constructor(
    readonly backends: string[],
    readonly outDir: string,
    args: string[],
  ) {
    // Its own session and process group, like a job started from a shell: Ctrl-C is a SIGINT to
    // the whole group.
    this.child = spawn('npx', ['tsx', 'harness/cli/main.ts', ...args], {
      cwd: PROJECT_ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.once('exit', (code, signal) => (this.exited = { code, signal }));
  }

  get pgid(): number {
    return this.child.pid!;
  }

  /** Look at the run once: its processes, ledgers and results; returns the phase it is in. */
  poll(): Observed {
    if (Date.now() - this.lastTreeScan >= 100 || !this.harness) {
      this.lastTreeScan = Date.now();
      const procs = allProcs();
      const roots = [this.child.pid!, ...(this.harness ? [this.harness.pid] : [])];
      for (const r of roots) for (const p of descendants(procs, r)) if (!this.pids.has(p.pid)) this.pids.set(p.pid, p.start);
      this.harness ??= harnessOf(procs, this.child.pid!);
    }
    this.readLedgers();
    const o = this.phase();
    const k = `${o.phase}:${o.backend}`;
    if (!this.entered.has(k)) this.entered.set(k, Date.now());
    return o;
  }

  harnessAlive(): boolean {
    return this.harness !== undefined ? alive(this.harness.pid, this.harness.start) : this.exited === undefined;
  }

  private readLedgers(): void {
    if (!this.harness) return;
    const dir = path.join(stateDir(), 'ledgers');
    for (const n of readdir(dir)) {
      const f = path.join(dir, n);
      if (this.foreignLedgers.has(f)) continue;
      const text = readFile(f);
      if (!text) continue;
      if (!this.ledgers.has(f)) {
        let owner: number | undefined;
        try {
          owner = (JSON.parse(text.split('\n')[0]!) as { owner?: { pid: number } }).owner?.pid;
        } catch {
          continue; // being written; next poll
        }
        if (owner === undefined || !this.pids.has(owner)) {
          this.foreignLedgers.add(f);
          continue;
        }
        if (owner !== this.harness.pid) this.wrongOwner.add(owner);
      }
      this.ledgers.set(f, text);
    }
  }

  /** Run ids of this run's ledgers (doctor-<id> -> <id>) and every vnb id their objects name. */
  ids(): Set<string> {
    const ids = new Set<string>();
    for (const [f, text] of this.ledgers) {
      const m = /([0-9a-f]{6})\.jsonl$/.exec(f);
      if (m) ids.add(m[1]!);
      for (const x of text.matchAll(/vnb-?([0-9a-f]{6})/g)) ids.add(x[1]!);
    }
    for (const x of this.stderr.matchAll(/vnb-([0-9a-f]{6})-/g)) ids.add(x[1]!);
    return ids;
  }

  /** Ids of the ledger files themselves (what `cleanup --run` takes). */
  ledgerIds(): string[] {
    return [...this.ledgers.keys()].flatMap((f) => /(?:^|[-/])([0-9a-f]{6})\.jsonl$/.exec(f)?.[1] ?? []);
  }

  /** Paths the run's ledgers recorded. */
  paths(): Set<string> {
    const out = new Set<string>();
    for (const text of this.ledgers.values()) for (const x of text.matchAll(/"path":"([^"]+)"/g)) out.add(x[1]!);
    return out;
  }

  private results(): { type: string; backend?: string; cell?: { backend: string } }[] {
    return readFile(path.join(this.outDir, 'results.jsonl'))
      .split('\n')
      .filter(Boolean)
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as { type: string; backend?: string; cell?: { backend: string } }];
        } catch {
          return [];
        }
      });
  }

  /** The backend's ledger (named in its QEMU's `-name vnb-<id>-<backend>`), if known. */
  private ledgerOf(backend: string): string | undefined {
    const re = new RegExp(`qemu pid \\d+: .*-name vnb-([0-9a-f]{6})-${backend}(?:-\\d+)?,`);
    const id = re.exec(this.stderr)?.[1];
    return id && [...this.ledgers.keys()].find((f) => f.endsWith(`/${id}.jsonl`));
  }

  private phase(): Observed {
    if (!this.harnessAlive()) return { phase: 'exited', backend: '-' };
    const results = this.results();
    for (const b of this.backends) {
      const booting = new RegExp(`qemu pid \\d+: .*-name vnb-[0-9a-f]{6}-${b}(?:-\\d+)?,`).test(this.stderr);
      const ready = new RegExp(`^${b}: guest ready in`, 'm').test(this.stderr);
      const recorded = results.some((r) => (r.type === 'cell' || r.type === 'error' || r.type === 'skip') && (r.cell?.backend ?? r.backend) === b);
      if (!recorded) {
        if (!booting) return { phase: 'setup', backend: b };
        return { phase: ready ? 'measurement' : 'boot', backend: b };
      }
      const ledger = this.ledgerOf(b);
      // Teardown ends when the backend's ledger file is gone (removed after a complete teardown).
      if (ledger !== undefined && fs.existsSync(ledger)) return { phase: 'teardown', backend: b };
    }
    return { phase: 'teardown', backend: 'end' }; // summary and exit
  }
}

// ---------------------------------------------------------------------------------------------
// The loop

interface RoundResult {
  round: number;
  signal: Sig | 'none';
  target: string;
  hit: Phase | 'exited' | 'none';
  backend: string;
  atS: number;
  exit: string;
  exitS: number;
  findings: string[];
  leftovers: string[];
  foreign: string[];
  cleanup: string;
}

const RUN_ARGS = (backends: string[], out: string) => [
  'run',
  '--backends', backends.join(','),
  '--workloads', 'TCP_RR',
  '--sizes', '64',
  '--duration', '1',
  '--iterations', '1',
  '--warmup', '0',
  '--out', out,
];

function cli(args: string[], timeoutMs = 180_000): { code: number | null; out: string } {
  const r = spawnSync('npx', ['tsx', 'harness/cli/main.ts', ...args], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function say(m: string): void {
  process.stdout.write(`${m}\n`);
}

async function waitGone(r: WatchedRun, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    r.poll();
    if (!r.harnessAlive() && r.exited) return true;
    await sleep(50);
  }
  return !r.harnessAlive() && r.exited !== undefined;
}

/** Differences from the snapshot, after giving namespace deletion and reaping a moment. */
async function settledDiff(base: HostState, selfTree: Set<number>, workDir: string, ignore: (d: Difference) => boolean, ms = 8000): Promise<Difference[]> {
  let d = diff(base, snapshot(selfTree, workDir)).filter((x) => !ignore(x));
  for (let t = 0; d.length && t < ms; t += 250) {
    await sleep(250);
    d = diff(base, snapshot(selfTree, workDir)).filter((x) => !ignore(x));
  }
  return d;
}

function selfAndAncestors(): Set<number> {
  const s = new Set<number>();
  for (let pid = process.pid; pid > 0 && !s.has(pid); pid = procInfo(pid)?.ppid ?? 0) s.add(pid);
  return s;
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const rand = prng(o.seed);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const logDir = path.join(PROJECT_ROOT, 'runs', `kill-loop-${stamp}`);
  fs.mkdirSync(logDir, { recursive: true });
  // Run directories (the user's output, not leftovers) go here and are removed after each round.
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kill-loop-'));
  const selfTree = selfAndAncestors();
  let current: WatchedRun | undefined;
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    say(`kill-loop: ${sig}: stopping after this round`);
    // The run is in its own session: it gets no signal from the terminal. Let it tear down.
    if (current?.harness && current.harnessAlive()) process.kill(current.harness.pid, 'SIGTERM');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  say(`kill-loop: ${o.rounds} rounds, seed ${o.seed}, backends ${o.backends.join(',')}, state dir ${stateDir()}, logs ${logDir}`);
  const base = snapshot(selfTree, workDir);
  fs.writeFileSync(path.join(logDir, 'snapshot.json'), JSON.stringify([...base], null, 1));
  say(`kill-loop: host snapshot: ${base.size} entries (${[...base.keys()].filter((k) => k.startsWith('netns ')).length} namespaces, ${[...base.keys()].filter((k) => k.startsWith('process ')).length} tool processes)`);

  const known = new Set<string>(); // leftovers reported by an earlier round: not counted again
  const outDir = (n: number) => path.join(workDir, `round-${n}`);

  // Calibration: one run to its end, to learn how long each phase of each backend lasts.
  say('kill-loop: calibration run (not killed) ...');
  const cal = new WatchedRun(o.backends, outDir(0), RUN_ARGS(o.backends, outDir(0)));
  current = cal;
  const phasesSeen: string[] = [];
  while (!(cal.exited && !cal.harnessAlive())) {
    const ob = cal.poll();
    const k = `${ob.phase}:${ob.backend}`;
    if (phasesSeen.at(-1) !== k) phasesSeen.push(k);
    await sleep(25);
  }
  const calEnd = Date.now();
  fs.writeFileSync(path.join(logDir, 'calibration.log'), cal.stderr + cal.stdout);
  const duration = new Map<string, number>();
  for (const [i, k] of phasesSeen.entries()) {
    const next = phasesSeen[i + 1];
    const end = next ? cal.entered.get(next)! : calEnd;
    if (k.startsWith('exited')) continue;
    duration.set(k, end - cal.entered.get(k)!);
  }
  say(`kill-loop: calibration: exit ${cal.exited?.code ?? cal.exited?.signal} after ${((calEnd - cal.started) / 1000).toFixed(1)} s; phases: ${[...duration].map(([k, v]) => `${k} ${(v / 1000).toFixed(2)}s`).join(', ')}`);
  if (cal.exited?.code !== 0) say(`kill-loop: calibration run did not succeed; its log: ${path.join(logDir, 'calibration.log')}`);
  fs.rmSync(outDir(0), { recursive: true, force: true });
  {
    const who: RoundIdentity = { ids: cal.ids(), paths: new Set([...cal.paths(), ...cal.ledgers.keys()]), foreignPaths: cal.foreignLedgers, pids: cal.pids };
    const left = await settledDiff(base, selfTree, workDir, (d) => foreign(d, who));
    if (left.length) {
      say(`kill-loop: a run that was NOT killed left:\n  ${left.map((d) => d.what).join('\n  ')}`);
      for (const d of left) known.add(d.key);
    }
  }
  for (const p of PHASES) for (const b of o.backends) if (!duration.has(`${p}:${b}`)) say(`kill-loop: calibration never saw ${p}:${b}; rounds aiming there strike on entry`);

  // Every block of 12 rounds (fewer with --signals/--phases) covers each (signal, phase) pair
  // once, in random order.
  const pairs: [Sig, Phase][] = o.signals.flatMap((s) => o.phases.map((p) => [s, p] as [Sig, Phase]));
  let block: [Sig, Phase][] = [];
  const results: RoundResult[] = [];

  for (let n = 1; n <= o.rounds && !stopping; n++) {
    if (block.length === 0) {
      block = [...pairs];
      for (let i = block.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [block[i], block[j]] = [block[j]!, block[i]!];
      }
    }
    const [sig, phase] = block.pop()!;
    const backend = o.backends[Math.floor(rand() * o.backends.length)]!;
    const frac = rand();
    const target = `${phase}:${backend}`;
    const expected = duration.get(target) ?? 0;
    const res: RoundResult = { round: n, signal: sig, target, hit: 'none', backend: '-', atS: 0, exit: '', exitS: 0, findings: [], leftovers: [], foreign: [], cleanup: '-' };

    const r = new WatchedRun(o.backends, outDir(n), RUN_ARGS(o.backends, outDir(n)));
    current = r;
    // Wait for the target phase; strike at frac of its calibrated length (at once if the run is
    // already past it: the phase recorded is what is observed when the signal goes).
    const order = o.backends.flatMap((b) => PHASES.map((p) => `${p}:${b}`));
    const targetIdx = order.indexOf(target);
    let strikeAt: number | undefined;
    let sentAt = 0;
    while (true) {
      const ob = r.poll();
      if (ob.phase === 'exited') break;
      const idx = ob.backend === 'end' ? order.length : order.indexOf(`${ob.phase}:${ob.backend}`);
      if (strikeAt === undefined && idx >= targetIdx && r.harness) {
        strikeAt = idx === targetIdx ? r.entered.get(target)! + frac * 0.9 * expected : Date.now();
      }
      if (strikeAt !== undefined && Date.now() >= strikeAt) {
        const now = r.poll(); // the phase at the moment of the signal
        if (now.phase === 'exited') break;
        res.hit = now.phase;
        res.backend = now.backend;
        res.atS = (Date.now() - r.started) / 1000;
        const h = r.harness!;
        const pg = procInfo(h.pid)?.pgrp;
        if (sig === 'SIGINT') {
          if (pg !== r.pgid) res.findings.push(`harness pid ${h.pid} is not in the run's process group ${r.pgid} (it is in ${pg})`);
          process.kill(-r.pgid, 'SIGINT'); // Ctrl-C
        } else process.kill(h.pid, sig);
        sentAt = Date.now();
        break;
      }
      await sleep(25);
    }
    if (res.hit === 'none') {
      res.hit = 'exited';
      res.findings.push('the run exited before the signal was sent');
    }

    // Wait for the harness (and its npx/tsx wrappers) to exit.
    const bound = sig === 'SIGKILL' ? 15_000 : o.exitWaitMs;
    let gone = await waitGone(r, bound);
    res.exitS = sentAt ? (Date.now() - sentAt) / 1000 : 0;
    if (!gone) {
      res.findings.push(`harness still running ${bound / 1000} s after ${sig}; sent SIGKILL`);
      if (r.harness) process.kill(r.harness.pid, 'SIGKILL');
      try {
        process.kill(-r.pgid, 'SIGKILL');
      } catch {
        /* group gone */
      }
      gone = await waitGone(r, 15_000);
    }
    res.exit = r.exited ? (r.exited.signal ?? String(r.exited.code)) : 'still running';
    const received = (r.stderr.match(/vnetbench: SIG\w+ received, tearing down/g) ?? []).length;
    const again = (r.stderr.match(/still tearing down/g) ?? []).length;
    if (/teardown abandoned/.test(r.stderr)) res.findings.push(`teardown abandoned (signals during teardown: ${again})`);
    else if (again) res.findings.push(`the harness saw ${again + received} signals for one ${sig}`);
    if (/teardown left/.test(r.stderr)) res.findings.push('the harness reported "teardown left"');
    // (At teardown:end the run has finished: there is nothing left to tear down.)
    if (sig !== 'SIGKILL' && res.hit !== 'exited' && res.backend !== 'end' && received === 0 && r.harness && r.ledgers.size) {
      res.findings.push(`no "${sig} received, tearing down" from the harness (exit ${res.exit})`);
    }
    if (r.wrongOwner.size) res.findings.push(`kill-loop signalled pid ${r.harness?.pid}, but the ledgers are owned by ${[...r.wrongOwner].join(', ')}`);

    // After SIGKILL (or a harness that had to be killed): vnetbench cleanup.
    const ids = r.ledgerIds();
    if (sig === 'SIGKILL' || res.findings.some((f) => f.includes('sent SIGKILL'))) {
      const args = o.cleanupScope === 'all' ? ['cleanup'] : ['cleanup', '--run', ...ids];
      if (o.cleanupScope === 'round' && ids.length === 0) res.cleanup = 'not needed (no ledger was created)';
      else {
        const c = cli(args);
        res.cleanup = `exit ${c.code}: ${/cleanup: removed \d+ object\(s\)/.exec(c.out)?.[0] ?? c.out.trim().split('\n').at(-1)}`;
        if (c.code !== 0) res.findings.push(`vnetbench ${args.join(' ')} exited ${c.code}`);
        fs.writeFileSync(path.join(logDir, `round-${n}.cleanup.log`), c.out);
      }
    }

    // What is left?
    fs.rmSync(outDir(n), { recursive: true, force: true });
    const who: RoundIdentity = { ids: r.ids(), paths: new Set([...r.paths(), ...r.ledgers.keys()]), foreignPaths: r.foreignLedgers, pids: r.pids };
    const left = await settledDiff(base, selfTree, workDir, (d) => known.has(d.key));
    for (const d of left) {
      if (foreign(d, who)) res.foreign.push(d.what);
      else res.leftovers.push(`${d.what}${ours(d, who) ? '' : ' (carries nothing of this round: unattributed)'}`);
      known.add(d.key);
    }
    // Leave the host clean for the next round (and say whether cleanup could).
    const allIds = [...r.ids()];
    if (res.leftovers.length && allIds.length) {
      const c = cli(['cleanup', '--run', ...allIds]);
      fs.writeFileSync(path.join(logDir, `round-${n}.after-leftovers.cleanup.log`), c.out);
      const still = await settledDiff(base, selfTree, workDir, (d) => !left.some((x) => x.key === d.key));
      res.findings.push(`vnetbench cleanup --run ${allIds.join(' ')} afterwards: ${still.length ? `${still.length} still left` : 'removed them'}`);
      for (const d of left) if (!still.some((x) => x.key === d.key)) known.delete(d.key);
    }
    if (res.leftovers.length || res.findings.length) fs.writeFileSync(path.join(logDir, `round-${n}.log`), r.stderr + r.stdout);
    results.push(res);
    const line =
      `round ${n}/${o.rounds}: ${sig} aimed at ${target}, hit ${res.hit}${res.backend !== '-' ? `:${res.backend}` : ''} at +${res.atS.toFixed(2)} s; ` +
      `exit ${res.exit} after ${res.exitS.toFixed(1)} s; cleanup ${res.cleanup}; ` +
      `${res.leftovers.length ? `LEFTOVERS ${res.leftovers.length}` : 'nothing left'}`;
    say(line);
    for (const x of res.leftovers) say(`    left: ${x}`);
    for (const x of res.foreign) say(`    foreign (not this round's, ignored): ${x}`);
    for (const x of res.findings) say(`    finding: ${x}`);
  }
  current = undefined;

  // Tallies
  const k = results.filter((x) => x.leftovers.length).length;
  const tally = (key: (x: RoundResult) => string, keys: string[]) =>
    keys
      .map((v) => {
        const rs = results.filter((x) => key(x) === v);
        return `${v} ${rs.length} (${rs.filter((x) => x.leftovers.length).length} left)`;
      })
      .join(', ');
  const zombies = [...snapshot(selfTree, workDir).keys()].filter((x) => x.startsWith('zombie ') && !base.has(x));
  say('');
  say(`by signal: ${tally((x) => x.signal, [...SIGNALS])}`);
  say(`by phase hit: ${tally((x) => x.hit, [...PHASES, 'exited'])}`);
  say(`by signal x phase: ${SIGNALS.map((s) => `${s}[${PHASES.map((p) => results.filter((x) => x.signal === s && x.hit === p).length).join('/')}]`).join(' ')} (setup/boot/measurement/teardown)`);
  const withFindings = results.filter((x) => x.findings.length);
  say(`rounds with findings: ${withFindings.length}${withFindings.length ? ` (${withFindings.map((x) => x.round).join(', ')})` : ''}`);
  if (zombies.length) say(`zombie processes at the end (not reaped yet; not counted): ${zombies.length}`);
  fs.writeFileSync(path.join(logDir, 'rounds.json'), JSON.stringify({ seed: o.seed, calibration: Object.fromEntries(duration), results }, null, 1));
  fs.rmSync(workDir, { recursive: true, force: true });
  say(`logs: ${logDir}`);
  say(`${results.length} rounds, ${k} leftovers`);
  return k > 0 ? 1 : 0;
}

/** Every vnb id the difference names belongs to someone else (not one of this round's). */
function foreignOnly(d: Difference, roundIds: Set<string>): boolean {
  const ids = [...d.what.matchAll(/vnb-?([0-9a-f]{6})/g)].map((m) => m[1]!);
  return ids.length > 0 && ids.every((id) => !roundIds.has(id));
}

interface RoundIdentity {
  /** vnb ids of the round's ledgers and of every object they name. */
  ids: Set<string>;
  /** Paths the round's ledgers recorded, and the ledger files themselves. */
  paths: Set<string>;
  /** Ledger files other runs created meanwhile. */
  foreignPaths: Set<string>;
  /** pid -> start time of every process seen in the round's tree. */
  pids: Map<number, string>;
}

/** Something that carries an identity (a vnb id, a pid, a ledger) that is not this round's. */
function foreign(d: Difference, r: RoundIdentity): boolean {
  if (ours(d, r)) return false;
  if ([...r.foreignPaths].some((p) => d.key.includes(p))) return true;
  if (foreignOnly(d, r.ids)) return true;
  // tsx's IPC pipe (os.tmpdir()/tsx-<uid>/<pid>.pipe) of a process that is not the round's
  return /tsx-\d+\/\d+\.pipe$/.test(d.key);
}

function ours(d: Difference, r: RoundIdentity): boolean {
  if ([...d.what.matchAll(/vnb-?([0-9a-f]{6})/g)].some((m) => r.ids.has(m[1]!))) return true;
  if ([...r.paths].some((p) => d.key.includes(p))) return true;
  const pm = /^process (\d+)\/(\d+)/.exec(d.key);
  if (pm && r.pids.get(Number(pm[1])) === pm[2]) return true;
  const tp = /tsx-\d+\/(\d+)\.pipe$/.exec(d.key);
  return tp !== null && r.pids.has(Number(tp[1]));
}

process.exitCode = await main();
