/**
 * Open subscriptions per caller and per process. A slot is taken when a
 * subscription is accepted and given back when it ends, however it ends.
 */
export class SubscriptionSlots {
  private readonly perCaller = new Map<string, number>();
  private total = 0;

  constructor(
    readonly maxPerCaller: number,
    readonly max: number,
  ) {}

  get open(): number {
    return this.total;
  }

  /** A release function (idempotent), or which cap is full. */
  acquire(caller: string): { release: () => void } | { full: 'caller' | 'process' } {
    if (this.total >= this.max) return { full: 'process' };
    const held = this.perCaller.get(caller) ?? 0;
    if (held >= this.maxPerCaller) return { full: 'caller' };
    this.perCaller.set(caller, held + 1);
    this.total += 1;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.total -= 1;
        const left = (this.perCaller.get(caller) ?? 1) - 1;
        if (left <= 0) this.perCaller.delete(caller);
        else this.perCaller.set(caller, left);
      },
    };
  }
}
