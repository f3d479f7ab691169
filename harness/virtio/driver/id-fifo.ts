// Heads/Buffer IDs in the order they were made available. With IN_ORDER the device returns
// buffers in this order and may report a whole batch with one entry (§2.7.9, §2.8.8).

export class IdFifo {
  private readonly ids: Uint16Array;
  private head = 0;
  private count = 0;

  constructor(private readonly capacity: number) {
    this.ids = new Uint16Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  push(id: number): void {
    this.ids[(this.head + this.count) % this.capacity] = id;
    this.count++;
  }

  /** Oldest id, or -1 when empty. */
  peek(): number {
    return this.count === 0 ? -1 : this.ids[this.head];
  }

  shift(): number {
    const id = this.ids[this.head];
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    this.count--;
    return id;
  }
}
