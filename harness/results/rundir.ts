// Writing and reading run directories (format in types.ts). Appends are fsync'd: results are
// written as they are produced, never batched at the end.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onCommand, type CommandResult } from '../core/exec.ts';
import { UsageError } from '../core/errors.ts';
import { RUN_SCHEMA, type RunManifest, type ResultRecord, type HostInfo } from './types.ts';

export function newRunId(prefix = 'run'): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `${prefix}-${t}-${process.pid.toString(36)}`;
}

export function hostInfo(): HostInfo {
  let osName = 'linux';
  try {
    osName = /PRETTY_NAME="([^"]+)"/.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] ?? osName;
  } catch {
    /* keep default */
  }
  return {
    hostname: os.hostname(),
    kernel: os.release(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    memMiB: Math.round(os.totalmem() / 2 ** 20),
    os: osName,
  };
}

function appendSync(file: string, line: string): void {
  const fd = fs.openSync(file, 'a');
  try {
    fs.writeSync(fd, line);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export class RunWriter {
  private stopCommands: () => void;

  private constructor(readonly dir: string, public manifest: RunManifest) {
    this.stopCommands = onCommand((r) => this.command(r));
  }

  static create(dir: string, m: Omit<RunManifest, 'schema' | 'createdAt' | 'status' | 'host'>): RunWriter {
    if (fs.existsSync(path.join(dir, 'manifest.json'))) {
      throw new UsageError(`${dir} already holds a run`, 'choose another --out, or pass --resume to continue it');
    }
    fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
    const w = new RunWriter(dir, {
      schema: RUN_SCHEMA,
      createdAt: new Date().toISOString(),
      status: 'running',
      host: hostInfo(),
      ...m,
    });
    w.saveManifest();
    return w;
  }

  /** Reopen an interrupted run to append to it (--resume). */
  static resume(dir: string): RunWriter {
    const run = readRun(dir);
    const w = new RunWriter(dir, { ...run.manifest, status: 'running' });
    w.saveManifest();
    return w;
  }

  saveManifest(): void {
    const tmp = path.join(this.dir, 'manifest.json.tmp');
    fs.writeFileSync(tmp, JSON.stringify(this.manifest, null, 2) + '\n');
    fs.renameSync(tmp, path.join(this.dir, 'manifest.json'));
  }

  /** Records written by this process, by type (a resumed run counts only its own). */
  readonly written: Partial<Record<ResultRecord['type'], number>> = {};

  record(r: ResultRecord): void {
    this.written[r.type] = (this.written[r.type] ?? 0) + 1;
    appendSync(path.join(this.dir, 'results.jsonl'), JSON.stringify(r) + '\n');
  }

  command(r: CommandResult): void {
    const { stdout: _o, stderr, ...rest } = r;
    appendSync(
      path.join(this.dir, 'commands.jsonl'),
      JSON.stringify({ ...rest, stderrTail: stderr.slice(-500), at: new Date().toISOString() }) + '\n',
    );
  }

  logPath(name: string): string {
    return path.join(this.dir, 'logs', name);
  }

  finish(status: RunManifest['status']): void {
    this.stopCommands();
    this.manifest.status = status;
    this.manifest.finishedAt = new Date().toISOString();
    this.saveManifest();
  }
}

export interface RunData {
  dir: string;
  manifest: RunManifest;
  records: ResultRecord[];
}

export function readRun(dir: string): RunData {
  const mf = path.join(dir, 'manifest.json');
  if (!fs.existsSync(mf)) {
    throw new UsageError(`${dir} is not a run directory (no manifest.json)`, 'pass the directory `vnetbench run --out` wrote');
  }
  const manifest = JSON.parse(fs.readFileSync(mf, 'utf8')) as RunManifest;
  if (manifest.schema !== RUN_SCHEMA) {
    throw new UsageError(`${mf}: unsupported schema ${String(manifest.schema)}, expected ${RUN_SCHEMA}`);
  }
  const rf = path.join(dir, 'results.jsonl');
  const records: ResultRecord[] = [];
  if (fs.existsSync(rf)) {
    for (const line of fs.readFileSync(rf, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        records.push(JSON.parse(line) as ResultRecord);
      } catch {
        // A torn final line from a crash: everything before it is intact.
      }
    }
  }
  return { dir, manifest, records };
}
