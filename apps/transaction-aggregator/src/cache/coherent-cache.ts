/**
 * An in-process cache of facts that live in PostgreSQL, kept coherent by invalidations pushed
 * through LISTEN/NOTIFY (see AggregatorCaches). It serves hits only while trusted, i.e. while the
 * listener is connected: a lost listener means notifications may be lost, so every lookup goes to
 * the database until the listener is back and the cache has been emptied.
 *
 * A load that raced with an invalidation (generation moved while it ran) is answered but not
 * stored, so a value read before a revocation can never be cached after it.
 */
export class CoherentCache<K, V> {
  private readonly entries = new Map<K, V>();
  private readonly loading = new Map<K, Promise<V | undefined>>();
  private generation = 0;
  private trusted = false;
  readonly stats = { hits: 0, misses: 0, invalidations: 0, resets: 0 };

  /** maxEntries 0: never cache (every lookup loads). */
  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: K, load: () => Promise<V | undefined>): Promise<V | undefined> {
    if (this.trusted) {
      const hit = this.entries.get(key);
      if (hit !== undefined) {
        this.stats.hits += 1;
        return Promise.resolve(hit);
      }
      const pending = this.loading.get(key);
      if (pending) return pending;
    }
    this.stats.misses += 1;
    const generation = this.generation;
    const work = load().then(
      (value) => {
        if (this.loading.get(key) === work) this.loading.delete(key);
        if (value !== undefined && this.trusted && generation === this.generation) this.store(key, value);
        return value;
      },
      (error: unknown) => {
        if (this.loading.get(key) === work) this.loading.delete(key);
        throw error;
      },
    );
    if (this.trusted && this.maxEntries > 0) this.loading.set(key, work);
    return work;
  }

  /** One entry changed (undefined: anything may have). */
  invalidate(key?: K): void {
    this.generation += 1;
    this.stats.invalidations += 1;
    this.loading.clear();
    if (key === undefined) this.entries.clear();
    else this.entries.delete(key);
  }

  /** Empties the cache; trusted says whether hits may be served from now on. */
  reset(trusted: boolean): void {
    this.generation += 1;
    this.stats.resets += 1;
    this.loading.clear();
    this.entries.clear();
    this.trusted = trusted && this.maxEntries > 0;
  }

  private store(key: K, value: V): void {
    if (this.entries.size >= this.maxEntries) {
      // First in, first out: the oldest entry makes room (a bound, not a policy worth more code).
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, value);
  }
}
