// Walks one split-ring descriptor chain (§2.7.5) into a DescChain. Every step the guest controls
// is bounded: a descriptor revisited is a loop, the chain may not exceed the queue size
// (§2.7.5.3.1), indices stay inside their table, every buffer lies inside the memory table, and
// the chain stays under 2^32 bytes (§2.7.5.2). Descriptors are read once each, through DataViews,
// so a driver rewriting them mid-walk cannot make the device see two different values.

import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../layout.ts';
import { broken, type Broken } from './broken.ts';
import type { DescChain } from './chain.ts';
import { addBuffer, rangeError, TableLocator, VisitStamps } from './desc-checks.ts';
import type { DeviceMemory } from './device-memory.ts';

const MAX_CHAIN_BYTES = 4294967296;

export class SplitChainWalker {
  private readonly seenDirect: VisitStamps;
  private readonly seenIndirect: VisitStamps;
  private readonly tables: TableLocator;

  constructor(
    private readonly mem: DeviceMemory,
    private readonly num: number,
    /** The descriptor table: a view of its region and the table's byte offset in it. */
    private readonly table: DataView,
    private readonly tableOff: number,
    private readonly indirectAllowed: boolean,
    /**
     * Fault injection only (a device that honours WRITE on the table pointer): asked at a ring
     * descriptor with INDIRECT|WRITE; true makes every buffer of its table device-writable.
     */
    private readonly indirectWrite?: () => boolean,
  ) {
    this.seenDirect = new VisitStamps(num);
    this.seenIndirect = new VisitStamps(num);
    this.tables = new TableLocator(mem, num);
  }

  /** Fill `chain` from head; undefined on success, else why the chain is invalid. */
  walk(head: number, chain: DescChain): Broken | undefined {
    chain.reset(this.mem);
    chain.id = head;
    this.seenDirect.next();
    let view = this.table;
    let base = this.tableOff;
    let size = this.num;
    let inIndirect = false;
    let tableWritable = false;
    let sawWritable = false;
    let total = 0;
    let i = head;
    for (;;) {
      if (!(inIndirect ? this.seenIndirect : this.seenDirect).visit(i)) {
        return broken('descriptor-loop', '2.7.5.2', `descriptor loop at index ${i}${inIndirect ? ' of the indirect table' : ''} (chain head ${head})`);
      }
      if (!inIndirect) chain.descCount++;
      const off = base + i * 16;
      const lo = view.getUint32(off, true);
      const hi = view.getUint32(off + 4, true);
      const len = view.getUint32(off + 8, true);
      const flags = view.getUint16(off + 12, true);
      const next = view.getUint16(off + 14, true);

      if (flags & VIRTQ_DESC_F_INDIRECT) {
        const bad = this.checkIndirect(i, inIndirect, flags, len, chain.buffers, head);
        if (bad) return bad;
        tableWritable = (flags & VIRTQ_DESC_F_WRITE) !== 0 && this.indirectWrite !== undefined && this.indirectWrite();
        const unlocated = this.tables.locate(lo, hi, len, i, '2.7.5.3');
        if (unlocated) return unlocated;
        view = this.tables.view;
        base = this.tables.off;
        this.seenIndirect.next();
        size = len / 16;
        inIndirect = true;
        chain.indirect = true;
        i = 0;
        continue;
      }

      // The time-to-live: with the loop stamps and the indirect size check it cannot trip, but it
      // bounds the walk on its own should either ever change.
      if (++chain.buffers > this.num) {
        return broken('chain-too-long', '2.7.5.3.1', `chain from head ${head} is longer than queue size ${this.num}`);
      }
      const writable = (flags & VIRTQ_DESC_F_WRITE) !== 0 || tableWritable;
      if (!writable && sawWritable) {
        return broken('readable-after-writable', '2.7.4.2', `${whereOf(i, inIndirect)} is device-readable but follows a device-writable descriptor (chain head ${head})`);
      }
      sawWritable ||= writable;
      total += len;
      if (total > MAX_CHAIN_BYTES) {
        return broken('chain-too-large', '2.7.5.2', `chain from head ${head} holds more than 2^32 bytes (at ${whereOf(i, inIndirect)})`);
      }
      if (!addBuffer(writable ? chain.writable : chain.readable, lo, hi, len)) {
        return rangeError(lo, hi, len, whereOf(i, inIndirect), '2.7.5');
      }

      if (!(flags & VIRTQ_DESC_F_NEXT)) return undefined;
      if (next >= size) {
        const table = inIndirect ? `the indirect table of ${size}` : `the table of ${size}`;
        return broken('index-out-of-range', inIndirect ? '2.7.5.3' : '2.7.5', `${whereOf(i, inIndirect)} has next = ${next}, beyond ${table}`);
      }
      i = next;
    }
  }

  private checkIndirect(i: number, inIndirect: boolean, flags: number, len: number, sofar: number, head: number): Broken | undefined {
    if (inIndirect) return broken('nested-indirect', '2.7.5.3.1', `${whereOf(i, inIndirect)} sets INDIRECT inside an indirect table`);
    if (!this.indirectAllowed) return broken('indirect-not-negotiated', '2.7.5.3.1', `${whereOf(i, inIndirect)} sets INDIRECT but VIRTIO_F_INDIRECT_DESC was not negotiated`);
    // WRITE on this descriptor is ignored, as §2.7.5.3.2 requires.
    if (flags & VIRTQ_DESC_F_NEXT) return broken('indirect-with-next', '2.7.5.3.1', `${whereOf(i, inIndirect)} sets both INDIRECT and NEXT`);
    if (len === 0 || len % 16 !== 0) return broken('indirect-length', '2.7.5.3', `${whereOf(i, inIndirect)}: indirect table length ${len} is not a positive multiple of 16`);
    if (len / 16 + sofar > this.num) {
      return broken('chain-too-long', '2.7.5.3.1', `chain from head ${head}: indirect table of ${len / 16} descriptors after ${sofar} direct ones is longer than queue size ${this.num}`);
    }
    return undefined;
  }
}

/** Names a descriptor in messages (built only on the failure path). */
function whereOf(i: number, inIndirect: boolean): string {
  return inIndirect ? `indirect descriptor ${i}` : `descriptor ${i}`;
}
