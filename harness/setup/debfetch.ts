// Download Debian bookworm packages into <cache>/debs and unpack them there, without touching the
// system's apt configuration: apt runs with its own sources list, list directory and cache
// directory (-o Dir::...), so `apt-get update` here never changes what the system's apt sees.
// The mirror is the one the system already uses (/etc/apt/sources.list.d/debian.sources), so no
// host name is hard-coded. Packages come from any component (netperf lives in non-free).
//
// Idempotent and offline once fetched: the candidate version comes from our own package lists,
// and a .deb already in the pool with that name and version is not downloaded again. Lists are
// fetched when missing, when the set of components changes, or when a package is not found.
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir } from '../core/paths.ts';
import { exec } from '../core/exec.ts';
import { CapabilityError, UsageError } from '../core/errors.ts';

export const COMPONENTS = ['main', 'contrib', 'non-free', 'non-free-firmware'] as const;
export type Component = (typeof COMPONENTS)[number];

export interface AptSource {
  uri: string;
  suites: string[];
  signedBy?: string;
}

export interface FetchOptions {
  /** The component the package lives in; main is always included. */
  component?: Component;
  /** Fetch the package lists again before resolving (otherwise only when needed). */
  refresh?: boolean;
}

export interface FetchedDeb {
  pkg: string;
  version: string;
  /** The downloaded .deb inside <cache>/debs/pool. */
  debPath: string;
  /** The directory it was unpacked into with `dpkg-deb -x` (usr/, lib/, boot/ ...). */
  root: string;
}

const SYSTEM_SOURCES = '/etc/apt/sources.list.d/debian.sources';
const SYSTEM_SOURCES_LIST = '/etc/apt/sources.list';
const RELEASE = 'bookworm';
const PKG_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

export function debsDir(): string {
  return path.join(cacheDir(), 'debs');
}

/** Parse deb822 stanzas (debian.sources) into the sources for `release` and its -updates/-security. */
export function parseDeb822Sources(text: string, release = RELEASE): AptSource[] {
  const stanzas = text.split(/\n\s*\n/);
  const out: AptSource[] = [];
  for (const stanza of stanzas) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m) fields.set(m[1].toLowerCase(), m[2].trim());
    }
    if (fields.get('enabled') === 'no') continue;
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter((s) => s === release || s.startsWith(`${release}-`));
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) {
      if (suites.length) out.push({ uri, suites, signedBy: fields.get('signed-by') });
    }
  }
  return out;
}

/** Parse one-line-style sources.list entries (older systems). */
export function parseOneLineSources(text: string, release = RELEASE): AptSource[] {
  const bySource = new Map<string, AptSource>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (!m) continue;
    const [, opts, uri, suite] = m;
    if (suite !== release && !suite.startsWith(`${release}-`)) continue;
    const signedBy = /signed-by=(\S+)/.exec(opts ?? '')?.[1];
    const s = bySource.get(uri) ?? { uri, suites: [], signedBy };
    if (!s.suites.includes(suite)) s.suites.push(suite);
    bySource.set(uri, s);
  }
  return [...bySource.values()];
}

function systemSources(): AptSource[] {
  if (fs.existsSync(SYSTEM_SOURCES)) {
    const s = parseDeb822Sources(fs.readFileSync(SYSTEM_SOURCES, 'utf8'));
    if (s.length) return s;
  }
  if (fs.existsSync(SYSTEM_SOURCES_LIST)) {
    const s = parseOneLineSources(fs.readFileSync(SYSTEM_SOURCES_LIST, 'utf8'));
    if (s.length) return s;
  }
  throw new CapabilityError(
    `no Debian ${RELEASE} mirror found in ${SYSTEM_SOURCES} or ${SYSTEM_SOURCES_LIST}`,
    `vnetbench fetches guest packages from the mirror this system uses; add a ${RELEASE} source there`,
  );
}

/** Our own sources.list: the system's mirrors and suites with the components we need. */
export function renderSourcesList(sources: AptSource[], components: readonly Component[]): string {
  const lines = ['# written by vnetbench (harness/setup/debfetch.ts); used only with -o Dir::Etc::sourcelist'];
  for (const s of sources) {
    const opt = s.signedBy ? `[signed-by=${s.signedBy}] ` : '';
    for (const suite of s.suites) lines.push(`deb ${opt}${s.uri} ${suite} ${components.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

interface AptEnv {
  dir: string;
  opts: string[];
}

function aptEnv(): AptEnv {
  const dir = path.join(debsDir(), 'apt');
  const lists = path.join(dir, 'lists');
  const cache = path.join(dir, 'cache');
  return {
    dir,
    opts: [
      '-o', `Dir::Etc::sourcelist=${path.join(dir, 'sources.list')}`,
      '-o', 'Dir::Etc::sourceparts=/nonexistent',
      '-o', `Dir::State::Lists=${lists}`,
      '-o', `Dir::Cache=${cache}`,
      // Our cache dir is not writable by the _apt sandbox user; run the download as ourselves.
      '-o', 'APT::Sandbox::User=root',
    ],
  };
}

/** Make our sources list contain `component`; returns true when it changed (lists must be fetched). */
function ensureSourcesList(env: AptEnv, component: Component): boolean {
  fs.mkdirSync(path.join(env.dir, 'lists', 'partial'), { recursive: true });
  fs.mkdirSync(path.join(env.dir, 'cache', 'archives', 'partial'), { recursive: true });
  const file = path.join(env.dir, 'sources.list');
  const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const have = new Set<Component>(['main', 'non-free']);
  for (const c of COMPONENTS) if (new RegExp(`^deb .* ${c}( |$)`, 'm').test(existing)) have.add(c);
  have.add(component);
  const components = COMPONENTS.filter((c) => have.has(c));
  const text = renderSourcesList(systemSources(), components);
  if (text === existing) return false;
  fs.writeFileSync(file, text);
  return true;
}

function listsPresent(env: AptEnv): boolean {
  const dir = path.join(env.dir, 'lists');
  return fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith('_Packages') || f.includes('_Packages.'));
}

async function aptUpdate(env: AptEnv): Promise<void> {
  // Another vnetbench process may be updating the same lists: apt's lock says so; wait for it.
  let r = await exec(['apt-get', ...env.opts, '-q', 'update'], { nothrow: true, timeoutMs: 300_000 });
  for (let i = 0; i < 60 && r.code !== 0 && /Could not get lock/.test(r.stderr); i++) {
    await new Promise((res) => setTimeout(res, 1000));
    r = await exec(['apt-get', ...env.opts, '-q', 'update'], { nothrow: true, timeoutMs: 300_000 });
  }
  // apt-get update exits 0 with "W:" lines when a mirror is unreachable; treat failed fetches as errors.
  if (r.code !== 0 || /^(E:|W: Failed to fetch)/m.test(r.stderr)) {
    throw new CapabilityError(
      `could not fetch Debian package lists (apt-get update, exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      'check that the Debian mirror in /etc/apt/sources.list.d/debian.sources is reachable',
    );
  }
}

// Preparation (sources list, `apt-get update`) runs one at a time within this process; apt's own
// lock in our lists directory covers other processes.
let queue: Promise<unknown> = Promise.resolve();
const ready = new Set<Component>();

function prepareOnce(component: Component, refresh: boolean): Promise<AptEnv> {
  const run = queue.catch(() => undefined).then(async () => {
    const env = aptEnv();
    if (ready.has(component) && !refresh) return env;
    const changed = ensureSourcesList(env, component);
    if (changed || refresh || !listsPresent(env)) await aptUpdate(env);
    ready.add(component);
    return env;
  });
  queue = run;
  return run;
}

function checkName(pkg: string): void {
  if (!PKG_NAME.test(pkg)) {
    throw new UsageError(`"${pkg}" is not a Debian package name`, 'package names are lower case: a-z 0-9 + . -');
  }
}

// apt-cache takes ~0.5 s per call; remember each answer for as long as our lists are unchanged.
interface Memo {
  stamp: string;
  fields: Record<string, Record<string, string>>;
}

function listsStamp(env: AptEnv): string {
  const dir = path.join(env.dir, 'lists');
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f !== 'lock' && f !== 'partial') : [];
  return files
    .sort()
    .map((f) => `${f}@${fs.statSync(path.join(dir, f)).mtimeMs}`)
    .join(',');
}

function readMemo(env: AptEnv, stamp: string): Memo {
  const file = path.join(env.dir, 'candidates.json');
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Memo;
    if (m.stamp === stamp) return m;
  } catch {
    /* absent or torn: start over */
  }
  return { stamp, fields: {} };
}

async function candidate(env: AptEnv, pkg: string): Promise<Map<string, string> | undefined> {
  const stamp = listsStamp(env);
  const memo = readMemo(env, stamp);
  const hit = memo.fields[pkg];
  if (hit) return new Map(Object.entries(hit));
  const fields = await queryCandidate(env, pkg);
  if (fields) {
    memo.fields[pkg] = Object.fromEntries(fields);
    const file = path.join(env.dir, 'candidates.json');
    fs.writeFileSync(`${file}.${process.pid}`, JSON.stringify(memo));
    fs.renameSync(`${file}.${process.pid}`, file);
  }
  return fields;
}

/** The fields of the candidate version's stanza (`apt-cache show` of the candidate), or undefined. */
async function queryCandidate(env: AptEnv, pkg: string): Promise<Map<string, string> | undefined> {
  const policy = await exec(['apt-cache', ...env.opts, 'policy', pkg], { nothrow: true });
  const version = /Candidate:\s*(\S+)/.exec(policy.stdout)?.[1];
  if (!version || version === '(none)') return undefined;
  const show = await exec(['apt-cache', ...env.opts, 'show', `${pkg}=${version}`], { nothrow: true });
  if (show.code !== 0) return undefined;
  const fields = new Map<string, string>();
  const first = show.stdout.split(/\n\n/)[0];
  let key = '';
  for (const line of first.split('\n')) {
    const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
    if (m) {
      key = m[1];
      fields.set(key, m[2]);
    } else if (key && line.startsWith(' ')) {
      fields.set(key, `${fields.get(key)}\n${line}`);
    }
  }
  return fields;
}

async function candidateOrUpdate(pkg: string, opts: FetchOptions): Promise<{ env: AptEnv; fields: Map<string, string> }> {
  const component = opts.component ?? 'main';
  let env = await prepareOnce(component, Boolean(opts.refresh));
  let fields = await candidate(env, pkg);
  if (!fields && !opts.refresh) {
    // Lists may predate the package (or a new kernel ABI): fetch them once more and retry.
    env = await prepareOnce(component, true);
    fields = await candidate(env, pkg);
  }
  if (!fields) {
    throw new UsageError(
      `Debian package ${pkg} not found in ${RELEASE} (${component} and main)`,
      `check the name with: apt-cache search ${pkg}; non-free packages need { component: 'non-free' }`,
    );
  }
  return { env, fields };
}

/** Names in the candidate's Depends (first alternative of each, version constraints dropped). */
export function parseDepends(field: string | undefined): string[] {
  if (!field) return [];
  return field
    .split(',')
    .map((d) => d.split('|')[0].trim().replace(/\s*\(.*\)$/, '').replace(/:any$/, ''))
    .filter(Boolean);
}

/** Direct dependencies of a package, e.g. linux-image-cloud-amd64 -> linux-image-6.1.0-NN-cloud-amd64. */
export async function resolveDepends(pkg: string, opts: FetchOptions = {}): Promise<string[]> {
  checkName(pkg);
  const { fields } = await candidateOrUpdate(pkg, opts);
  return parseDepends(fields.get('Depends')).concat(parseDepends(fields.get('Pre-Depends')));
}

/** A meta package's real package: the first dependency matching `pattern` (e.g. /^linux-image-\d/). */
export async function resolveMeta(pkg: string, pattern: RegExp, opts: FetchOptions = {}): Promise<string> {
  const deps = await resolveDepends(pkg, opts);
  const real = deps.find((d) => pattern.test(d));
  if (!real) throw new Error(`${pkg} has no dependency matching ${pattern} (depends: ${deps.join(', ') || 'none'})`);
  return real;
}

function debFileName(pkg: string, version: string, arch: string): string {
  // apt-get download names files like the pool does, with ':' in epochs escaped as %3a.
  return `${pkg}_${version.replace(/:/g, '%3a')}_${arch}.deb`;
}

/** Download `pkg` (the candidate version) into the pool and unpack it; reuses both when present. */
export async function fetchDeb(pkg: string, opts: FetchOptions = {}): Promise<FetchedDeb> {
  checkName(pkg);
  const { env, fields } = await candidateOrUpdate(pkg, opts);
  const version = fields.get('Version')!;
  const arch = fields.get('Architecture') ?? 'amd64';
  const pool = path.join(debsDir(), 'pool');
  fs.mkdirSync(pool, { recursive: true });
  const debPath = path.join(pool, debFileName(pkg, version, arch));
  if (!fs.existsSync(debPath)) await download(env, pkg, version, pool, debPath);
  const root = await unpack(debPath, path.join(debsDir(), 'root', path.basename(debPath, '.deb')));
  return { pkg, version, debPath, root };
}

/** Fetch several packages; each may name its component. */
export async function fetchDebs(pkgs: { pkg: string; component?: Component }[]): Promise<FetchedDeb[]> {
  const out: FetchedDeb[] = [];
  for (const p of pkgs) out.push(await fetchDeb(p.pkg, { component: p.component }));
  return out;
}

async function download(env: AptEnv, pkg: string, version: string, pool: string, debPath: string): Promise<void> {
  // Download into a private directory and rename, so a concurrent fetch never sees half a file.
  const tmp = fs.mkdtempSync(path.join(pool, '.dl-'));
  try {
    const r = await exec(['apt-get', ...env.opts, '-q', 'download', `${pkg}=${version}`], {
      cwd: tmp,
      nothrow: true,
      timeoutMs: 600_000,
    });
    const got = fs.readdirSync(tmp).filter((f) => f.endsWith('.deb'));
    if (r.code !== 0 || got.length !== 1) {
      throw new CapabilityError(
        `apt-get download ${pkg}=${version} failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`,
        'check that the Debian mirror is reachable; run with refresh to fetch the package lists again',
      );
    }
    fs.renameSync(path.join(tmp, got[0]), debPath);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function unpack(debPath: string, root: string): Promise<string> {
  const done = path.join(root, '.vnetbench-unpacked');
  if (fs.existsSync(done)) return root;
  fs.mkdirSync(path.dirname(root), { recursive: true });
  const tmp = `${root}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  try {
    await exec(['dpkg-deb', '-x', debPath, tmp], { timeoutMs: 300_000 });
    fs.writeFileSync(path.join(tmp, '.vnetbench-unpacked'), `${path.basename(debPath)}\n`);
    fs.rmSync(root, { recursive: true, force: true });
    fs.renameSync(tmp, root);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (fs.existsSync(done)) return root; // another process unpacked it meanwhile
    throw err;
  }
  return root;
}

/** The version `fetchDeb` would take, without downloading (for cache keys and reports). */
export async function candidateVersion(pkg: string, opts: FetchOptions = {}): Promise<string> {
  checkName(pkg);
  const { fields } = await candidateOrUpdate(pkg, opts);
  return fields.get('Version')!;
}
