/**
 * Identical work in flight at the same moment is done once: callers of `run`
 * with a key already running get the running promise (its result or its
 * error). The key is forgotten as soon as the work settles, so later callers
 * start afresh (and find the result in the cache, if it was cached).
 */
export class SingleFlight<T> {
  private readonly running = new Map<string, Promise<T>>();
  /** Callers that joined work already in flight instead of starting their own. */
  shared = 0;

  run(key: string, work: () => Promise<T>): Promise<T> {
    const existing = this.running.get(key);
    if (existing) {
      this.shared += 1;
      return existing;
    }
    const promise = work().finally(() => this.running.delete(key));
    this.running.set(key, promise);
    return promise;
  }

  get inFlight(): number {
    return this.running.size;
  }
}
