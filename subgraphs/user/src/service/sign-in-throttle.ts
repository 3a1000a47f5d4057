import { addressKey, keyDigest, rateLimitedError, type Counter, type RateLimitStore } from '@suoke/platform';

export interface SignInThrottleConfig {
  LOGIN_ACCOUNT_FAILURE_LIMIT: number;
  LOGIN_ACCOUNT_FAILURE_WINDOW_SECONDS: number;
  LOGIN_KNOWN_ADDRESS_DAYS: number;
}

const LOCKED_MESSAGE = 'Too many failed sign-in attempts on this account: try again later';

/**
 * Failed sign-ins per account, counted from anywhere, with a smart lockout (as
 * identity providers do): once an email has had LOGIN_ACCOUNT_FAILURE_LIMIT
 * failures in the window, an address that failed on it itself is refused until
 * the window ends; an address that signed in to it recently is never refused;
 * any other address gets one attempt. So a distributed guesser gets the limit
 * plus one guess per address it controls, and the owner still gets in.
 * Counted on the email (hashed), known or not, so answers reveal no accounts.
 */
export class SignInThrottle {
  constructor(
    private readonly store: RateLimitStore,
    private readonly config: SignInThrottleConfig,
  ) {}

  /** Refuses (RATE_LIMITED) an attempt the lockout forbids; otherwise returns what to record once the password is checked. */
  async admit(email: string, address: string): Promise<SignInAttempt> {
    const account = keyDigest(email);
    const from = addressKey(address);
    const window = { limit: this.config.LOGIN_ACCOUNT_FAILURE_LIMIT, duration: this.config.LOGIN_ACCOUNT_FAILURE_WINDOW_SECONDS };
    const failures: Counter = { key: `login:fail:${account}`, ...window };
    const ownFailures: Counter = { key: `login:fail:${account}:a:${from}`, ...window };
    const known: Counter = { key: `login:known:${account}:a:${from}`, limit: 1, duration: this.config.LOGIN_KNOWN_ADDRESS_DAYS * 86_400 };
    const [all, own, seen] = (await this.store.peek([failures, ownFailures, known])).counters as [State, State, State];
    if (all.used >= window.limit && seen.used === 0) {
      const retryAfter = Math.max(1, Math.ceil(all.msLeft / 1000));
      if (own.used > 0) throw rateLimitedError(retryAfter, LOCKED_MESSAGE);
      // One attempt per address while locked, taken atomically: parallel attempts from it get one between them.
      const probe = await this.store.consume([{ key: `login:probe:${account}:a:${from}`, ...window, limit: 1 }], 1);
      if (probe.allowed === 0) throw rateLimitedError(retryAfter, LOCKED_MESSAGE);
    }
    return {
      failed: async () => void (await this.store.consume([failures, ownFailures], 1, { force: true })),
      succeeded: async () => void (await this.store.consume([known], 1, { force: true })),
    };
  }
}

interface State {
  used: number;
  msLeft: number;
}

export interface SignInAttempt {
  failed(): Promise<void>;
  succeeded(): Promise<void>;
}
