/**
 * In-process FIFO mutex per key. Work on one wallet waits here, not on a PostgreSQL row lock
 * holding a pooled connection. Bounded: past maxWaitersPerKey, acquire() refuses at once.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, { tail: Promise<void>; waiters: number }>();

  constructor(private readonly maxWaitersPerKey: number) {}

  /** Resolves with a release function once the key is ours; undefined when the queue is full. */
  async acquire(key: string): Promise<(() => void) | undefined> {
    const slot = this.tails.get(key) ?? { tail: Promise.resolve(), waiters: 0 };
    if (slot.waiters >= this.maxWaitersPerKey) return undefined;
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const previous = slot.tail;
    slot.tail = previous.then(() => mine);
    slot.waiters += 1;
    this.tails.set(key, slot);
    await previous;
    return () => {
      slot.waiters -= 1;
      if (slot.waiters === 0) this.tails.delete(key);
      release();
    };
  }

  get activeKeys(): number {
    return this.tails.size;
  }
}
