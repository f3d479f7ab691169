// Bookkeeping of buffers the device has taken and not returned: by id (to refuse an id the driver
// re-offers while in flight, and to catch a device returning one twice) and, under IN_ORDER, in
// pop order (a FIFO), so a batch can be returned with one used entry.

export class InFlight {
  count = 0;
  /** Ring slots held by in-flight buffers (packed: to bound them by the queue size). */
  slots = 0;
  private readonly set: Uint8Array;
  private readonly fifoIds: Uint16Array;
  private readonly fifoDescs: Uint16Array;
  private fifoHead = 0;
  private fifoLen = 0;

  constructor(
    idSpace: number,
    private readonly capacity: number,
    private readonly ordered: boolean,
  ) {
    this.set = new Uint8Array(idSpace);
    this.fifoIds = new Uint16Array(ordered ? capacity : 0);
    this.fifoDescs = new Uint16Array(ordered ? capacity : 0);
  }

  has(id: number): boolean {
    return this.set[id] === 1;
  }

  add(id: number, descCount: number): void {
    this.set[id] = 1;
    this.count++;
    this.slots += descCount;
    if (!this.ordered) return;
    const at = (this.fifoHead + this.fifoLen++) % this.capacity;
    this.fifoIds[at] = id;
    this.fifoDescs[at] = descCount;
  }

  /** Undo the latest add (unpop). */
  removeLatest(id: number, descCount: number): void {
    this.drop(id, descCount);
    if (this.ordered) this.fifoLen--;
  }

  /** A device returned `id`. Throws on a device bug (not in flight, or out of order under IN_ORDER). */
  retire(id: number, descCount: number): void {
    if (!this.has(id)) throw new Error(`device bug: returning buffer ${id}, which is not in flight`);
    if (this.ordered) {
      const first = this.fifoIds[this.fifoHead];
      if (first !== id) throw new Error(`device bug: IN_ORDER returns buffer ${id} before ${first}`);
      this.shift();
    }
    this.drop(id, descCount);
  }

  /** Set by retireOldest(): the batch's last id and the ring slots the batch held (packed skip). */
  batchLastId = -1;
  batchSlots = 0;

  /** IN_ORDER: retire the `n` oldest buffers (result in batchLastId / batchSlots). */
  retireOldest(n: number): void {
    if (!this.ordered) throw new Error('device bug: batched used entries need VIRTIO_F_IN_ORDER');
    if (n < 1 || n > this.fifoLen) throw new Error(`device bug: batch of ${n} with ${this.fifoLen} buffers in flight`);
    let lastId = -1;
    let slots = 0;
    for (let k = 0; k < n; k++) {
      lastId = this.fifoIds[this.fifoHead];
      const d = this.fifoDescs[this.fifoHead];
      slots += d;
      this.shift();
      this.drop(lastId, d);
    }
    this.batchLastId = lastId;
    this.batchSlots = slots;
  }

  clear(): void {
    this.set.fill(0);
    this.count = 0;
    this.slots = 0;
    this.fifoHead = 0;
    this.fifoLen = 0;
  }

  private shift(): void {
    this.fifoHead = (this.fifoHead + 1) % this.capacity;
    this.fifoLen--;
  }

  private drop(id: number, descCount: number): void {
    this.set[id] = 0;
    this.count--;
    this.slots -= descCount;
  }
}
