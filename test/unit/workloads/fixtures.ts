// Loads the real engine outputs captured by fixtures/workloads/capture.ts, with the manifest entry
// that says how each one was made.
import fs from 'node:fs';
import path from 'node:path';
import { fixturesDir } from '../../../harness/core/paths.ts';
import type { Direction, WorkloadSpec } from '../../../harness/workloads/types.ts';
import type { EngineName, WorkloadName } from '../../../harness/config/schema.ts';

export interface FixtureEntry {
  file: string;
  engine: EngineName;
  workload: WorkloadName;
  direction?: Direction;
  size: number;
  streams: number;
  durationS: number;
  clientSide: 'guest' | 'peer';
  clientArgv: string[];
  exitCode?: number;
  note?: string;
}

const DIR = path.join(fixturesDir(), 'workloads');

export function readFixture(rel: string): string {
  return fs.readFileSync(path.join(DIR, rel), 'utf8');
}

export function manifest(): FixtureEntry[] {
  return (JSON.parse(readFixture('manifest.json')) as { fixtures: FixtureEntry[] }).fixtures;
}

/** Successful runs of one engine (not the error captures). */
export function runs(engine: EngineName): FixtureEntry[] {
  return manifest().filter((f) => f.engine === engine && !f.note);
}

export function specOf(f: FixtureEntry): WorkloadSpec {
  return { workload: f.workload, size: f.size, durationS: f.durationS, streams: 1, direction: f.direction, serverIp: '198.18.0.2' };
}

/** The value of `KEY=` in netperf -k output, read independently of the parser under test. */
export function kv(text: string, key: string): number {
  const m = new RegExp(`^${key}=(.*)$`, 'm').exec(text);
  if (!m) throw new Error(`fixture has no ${key}`);
  return Number(m[1]);
}
