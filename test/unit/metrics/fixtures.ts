// Real sampler inputs captured from a real TCG guest by fixtures/metrics/capture.ts.
import fs from 'node:fs';
import path from 'node:path';
import { fixturesDir } from '../../../harness/core/paths.ts';
import type { GuestSnapshot, HostSnapshot, Snapshot } from '../../../harness/metrics/snapshot.ts';

const DIR = path.join(fixturesDir(), 'metrics');

export function readFixture(name: string): string {
  return fs.readFileSync(path.join(DIR, name), 'utf8');
}

export function guestSnapshot(phase: 'open' | 'close', prefix = ''): GuestSnapshot {
  return {
    stat: readFixture(`${prefix}guest-proc-stat.${phase}.txt`),
    interrupts: readFixture(`${prefix}guest-interrupts.${phase}.txt`),
    netdev: readFixture(`${prefix}guest-net-dev.${phase}.txt`),
  };
}

export function snapshots(prefix = ''): { open: Snapshot; close: Snapshot } {
  const host = JSON.parse(readFixture(`${prefix}host-snapshots.json`)) as { open: HostSnapshot; close: HostSnapshot };
  return {
    open: { host: host.open, guest: guestSnapshot('open', prefix) },
    close: { host: host.close, guest: guestSnapshot('close', prefix) },
  };
}

export interface Capture {
  engineMetrics: { throughput_bps: number };
  guest: { nic: string };
  windowS: number;
}

export function capture(prefix = ''): Capture {
  return JSON.parse(readFixture(`${prefix}capture.json`)) as Capture;
}
