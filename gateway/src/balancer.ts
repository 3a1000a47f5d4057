/** One instance (replica) of a subgraph, as the balancer tracks it. */
export interface Instance {
  /** The GraphQL endpoint, e.g. `http://health-1:4002/graphql`. */
  readonly url: string;
  /** `http://health-1:4002`: where the connection pool and `/health/ready` live. */
  readonly origin: string;
  /** Requests sent to it and not yet answered (what P2C compares). */
  outstanding: number;
  /** Failed requests in a row (timeouts, resets, 5xx); a success clears it. */
  consecutiveFailures: number;
  /** Ejections since its last successful request: the backoff exponent. */
  ejections: number;
  /** 0 while admitted; otherwise when its readiness is next probed. */
  ejectedUntil: number;
  /** Ejected and waiting for a readiness probe to let it back in. */
  ejected: boolean;
}

/** How a request to an instance ended, as far as the instance's health goes. */
export type InstanceOutcome =
  /** An answer came back (any status but 5xx). */
  | 'ok'
  /** The instance could not be reached: refused, connect timeout, unknown host. */
  | 'unreachable'
  /** It was reached but failed: timeout, reset, 5xx. */
  | 'failed';

export interface BalancerOptions {
  /** Endpoints of the instances, at least one. */
  urls: readonly string[];
  /** First ejection length; each further one doubles it, up to `ejectMaxMs`. Default 1000. */
  ejectBaseMs?: number;
  /** Default 10 000. */
  ejectMaxMs?: number;
  /** Failures in a row (`failed` outcomes) that eject an instance. Default 3. */
  failuresToEject?: number;
  /**
   * Readiness of an ejected instance, asked when its ejection ends (the gateway
   * GETs `/health/ready` on its origin). Without one, an instance is let back
   * in as soon as its ejection ends.
   */
  probe?: (instance: Instance) => Promise<boolean>;
  /** Told of every ejection and re-admission (logs, metrics). */
  onChange?: (instance: Instance, event: { admitted: boolean; reason: string; forMs?: number }) => void;
  random?: () => number;
  now?: () => number;
}

/**
 * Spreads a subgraph's requests over its instances by the power of two choices
 * (go-zero's P2C, Envoy's least-request): two admitted instances drawn at
 * random, the one with fewer outstanding requests wins. That avoids both the
 * herd that "always the least loaded" sends to one fresh instance and the blind
 * spots of round robin when one instance is slow.
 *
 * An instance that cannot be reached, fails `failuresToEject` requests in a
 * row, or fails a readiness check is ejected: no request goes to it until its
 * ejection ends (exponential backoff from `ejectBaseMs`) and a readiness probe
 * passes. When every instance is ejected, requests go to all of them anyway
 * (Envoy's "panic" mode): sending to a subgraph that may have come back beats
 * refusing everything, and the circuit breaker in front limits the cost.
 */
export class Balancer {
  readonly instances: readonly Instance[];
  private readonly ejectBaseMs: number;
  private readonly ejectMaxMs: number;
  private readonly failuresToEject: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: BalancerOptions) {
    if (options.urls.length === 0) throw new Error('Balancer: at least one instance URL is required (received none)');
    this.instances = options.urls.map((url) => ({
      url,
      origin: new URL(url).origin,
      outstanding: 0,
      consecutiveFailures: 0,
      ejections: 0,
      ejectedUntil: 0,
      ejected: false,
    }));
    this.ejectBaseMs = options.ejectBaseMs ?? 1_000;
    this.ejectMaxMs = options.ejectMaxMs ?? 10_000;
    this.failuresToEject = options.failuresToEject ?? 3;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** Admitted instances (not ejected). */
  admitted(): Instance[] {
    return this.instances.filter((i) => !i.ejected);
  }

  /**
   * The instance for the next request, its outstanding count already raised
   * (pair every pick with `release`). `avoid` is left out when any other
   * instance exists (a retry goes elsewhere); undefined when there is no other.
   */
  pick(avoid?: Instance): Instance | undefined {
    const pool = avoid ? this.instances.filter((i) => i !== avoid) : [...this.instances];
    if (pool.length === 0) return undefined;
    let candidates = pool.filter((i) => !i.ejected);
    // Panic mode: everything is ejected, so try them all rather than nothing.
    if (candidates.length === 0) candidates = pool;
    const chosen = candidates.length === 1 ? candidates[0]! : this.twoChoices(candidates);
    chosen.outstanding += 1;
    return chosen;
  }

  /** Ends a request picked with `pick`, and judges the instance by its outcome. */
  release(instance: Instance, outcome: InstanceOutcome): void {
    instance.outstanding = Math.max(0, instance.outstanding - 1);
    if (outcome === 'ok') {
      instance.consecutiveFailures = 0;
      instance.ejections = 0;
      // It answered: whatever ejected it is over (an ejected instance gets requests only in panic mode).
      if (instance.ejected) this.readmit(instance, 'answered a request');
      return;
    }
    if (outcome === 'unreachable') {
      this.eject(instance, 'unreachable');
      return;
    }
    instance.consecutiveFailures += 1;
    if (instance.consecutiveFailures >= this.failuresToEject) this.eject(instance, `${instance.consecutiveFailures} failures in a row`);
  }

  /** Takes an instance out for its backoff period; a no-op while it is already out. */
  eject(instance: Instance, reason: string): void {
    if (instance.ejected || this.closed) return;
    const forMs = Math.min(this.ejectMaxMs, this.ejectBaseMs * 2 ** instance.ejections);
    instance.ejected = true;
    instance.ejections += 1;
    instance.consecutiveFailures = 0;
    instance.ejectedUntil = this.now() + forMs;
    this.options.onChange?.(instance, { admitted: false, reason, forMs });
    this.schedule(forMs, () => void this.reprobe(instance));
  }

  /**
   * Readiness checks of every admitted instance (the gateway runs them on an
   * interval when a subgraph has several): a failed one is ejected.
   */
  async checkReadiness(): Promise<void> {
    const probe = this.options.probe;
    if (!probe) return;
    await Promise.all(
      this.admitted().map(async (instance) => {
        const ready = await probe(instance).catch(() => false);
        if (!ready && !instance.ejected) this.eject(instance, 'readiness check failed');
      }),
    );
  }

  /** Stops the re-probe timers. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private async reprobe(instance: Instance): Promise<void> {
    if (!instance.ejected || this.closed) return;
    const ready = this.options.probe ? await this.options.probe(instance).catch(() => false) : true;
    if (!instance.ejected || this.closed) return;
    if (ready) {
      this.readmit(instance, this.options.probe ? 'readiness check passed' : 'ejection ended');
      return;
    }
    // Still not ready: out again, for longer.
    instance.ejected = false;
    this.eject(instance, 'readiness check failed');
  }

  private readmit(instance: Instance, reason: string): void {
    instance.ejected = false;
    instance.ejectedUntil = 0;
    instance.consecutiveFailures = 0;
    this.options.onChange?.(instance, { admitted: true, reason });
  }

  private twoChoices(candidates: Instance[]): Instance {
    const n = candidates.length;
    const first = Math.floor(this.random() * n);
    // A second index distinct from the first, uniformly.
    let second = Math.floor(this.random() * (n - 1));
    if (second >= first) second += 1;
    const a = candidates[first]!;
    const b = candidates[second]!;
    return b.outstanding < a.outstanding ? b : a;
  }

  private schedule(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }
}

/**
 * A routing URL as configured: one endpoint or several, comma-separated
 * (`http://a:4002/graphql,http://b:4002/graphql`). Every entry must be an
 * absolute http(s) URL; the error names the one that is not.
 */
export function parseInstanceUrls(value: string, subgraph: string): string[] {
  const urls = value
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  if (urls.length === 0) throw new Error(`subgraph "${subgraph}": a routing URL is required (received ${JSON.stringify(value)})`);
  for (const url of urls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`subgraph "${subgraph}": each routing URL must be an absolute http(s) URL (received ${JSON.stringify(url)})`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`subgraph "${subgraph}": each routing URL must be an absolute http(s) URL (received ${JSON.stringify(url)})`);
    }
  }
  return [...new Set(urls)];
}
