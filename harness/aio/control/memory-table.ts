// The memory table from SET_MEM_TABLE, checked before anything maps it: one fd per region, each
// region inside its fd (so no access can fault past the end of the file: SIGBUS would kill the
// device), regions that do not overlap in guest-physical space, and GPAs the data plane can hold
// as plain numbers. Ring addresses arrive as front-end user addresses (UVAs); the table
// translates them to GPAs for the device queues, which check every descriptor against it.
import fs from 'node:fs';
import type { MemTable } from '../../vhost/vhost-user-codec.ts';
import { closeQuiet } from '../../sys/libc.ts';
import type { PlanMemory } from '../dataplane/plan.ts';
import { Refused } from './refusal.ts';

/** DeviceMemory keeps region ends below 2^52 so that addr + len arithmetic stays exact. */
const GPA_LIMIT = 2n ** 52n;

export interface TableRegion {
  gpa: bigint;
  size: bigint;
  uva: bigint;
  mmapOffset: bigint;
  fd: number;
}

export class MemoryTable {
  private closed = false;

  private constructor(
    readonly version: number,
    readonly regions: readonly TableRegion[],
  ) {}

  /** Validate a SET_MEM_TABLE payload and its fds; the table owns the fds once this returns. */
  static fromMessage(msg: MemTable, fds: readonly number[], version: number): MemoryTable {
    if (msg.regions.length === 0) throw new Refused('SET_MEM_TABLE: no regions');
    if (fds.length !== msg.regions.length) {
      throw new Refused(`SET_MEM_TABLE: ${msg.regions.length} regions but ${fds.length} fds (one fd per region)`);
    }
    const regions = msg.regions.map((r, i) => ({ ...r, fd: fds[i]! }));
    regions.forEach((r, i) => checkRegion(r, i));
    const sorted = [...regions].sort((a, b) => (a.gpa < b.gpa ? -1 : 1));
    for (let i = 1; i < sorted.length; i++) {
      const a = sorted[i - 1]!;
      const b = sorted[i]!;
      if (a.gpa + a.size > b.gpa) throw new Refused(`SET_MEM_TABLE: regions at GPA ${hex(a.gpa)} and ${hex(b.gpa)} overlap`);
    }
    return new MemoryTable(version, regions);
  }

  /** The GPA of a front-end user address, when all `len` bytes lie in one region. */
  uvaToGpa(uva: bigint, len: number): number | undefined {
    for (const r of this.regions) {
      if (uva >= r.uva && uva + BigInt(len) <= r.uva + r.size) return Number(r.gpa + (uva - r.uva));
    }
    return undefined;
  }

  plan(): PlanMemory {
    return {
      version: this.version,
      regions: this.regions.map((r) => ({ gpa: Number(r.gpa), size: Number(r.size), fd: r.fd, mmapOffset: Number(r.mmapOffset) })),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.regions) closeQuiet(r.fd);
  }
}

function checkRegion(r: TableRegion, i: number): void {
  const where = `SET_MEM_TABLE region ${i} (GPA ${hex(r.gpa)}, size ${hex(r.size)})`;
  if (r.size === 0n) throw new Refused(`${where}: size 0`);
  if (r.gpa + r.size > GPA_LIMIT) throw new Refused(`${where}: ends above 2^52, beyond what this device addresses`);
  if (r.mmapOffset + r.size > BigInt(Number.MAX_SAFE_INTEGER)) throw new Refused(`${where}: mmap_offset ${hex(r.mmapOffset)} + size overflows`);
  let st: fs.Stats;
  try {
    st = fs.fstatSync(r.fd);
  } catch (e) {
    throw new Refused(`${where}: fd ${r.fd} cannot be inspected: ${(e as Error).message}`);
  }
  if (!st.isFile()) throw new Refused(`${where}: fd is not a regular file or memfd (mode 0o${st.mode.toString(8)}); it cannot be mapped safely`);
  if (BigInt(st.size) < r.mmapOffset + r.size) {
    throw new Refused(`${where}: mmap_offset ${hex(r.mmapOffset)} + size runs past the end of its fd (${hex(BigInt(st.size))} bytes)`);
  }
}

function hex(n: bigint): string {
  return `0x${n.toString(16)}`;
}
