import type { FetcherHeaders, FetcherRequestInit, FetcherResponse } from '@apollo/utils.fetcher';
import type { Dispatcher, Pool } from 'undici';

// One HTTP exchange with a subgraph instance, below balancing and breaking:
// undici's dispatcher, a deadline, the answer collected in full.

/** A fetch's time budget, shared by its attempts; expiry aborts the attempt under way. */
export class Deadline {
  expired = false;
  onExpire: (() => void) | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(readonly ms: number) {
    this.timer = setTimeout(() => {
      this.expired = true;
      this.onExpire?.();
    }, ms);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

export interface RawResponse {
  status: number;
  statusText: string;
  headers: Map<string, string>;
  body: string;
}

export type SendError = Error & { code?: string; sent?: boolean; responded?: boolean; timedOut?: boolean };

/**
 * One HTTP exchange through undici's dispatcher, the body collected in full
 * within the deadline. The handler records whether the request was written
 * and whether any response arrived, which decides whether a retry is safe.
 */
export function send(
  pool: Pool,
  request: { path: string; method: string; headers: Record<string, string>; body?: FetcherRequestInit['body'] },
  deadline: Deadline,
): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    let settled = false;
    let abort: ((error: Error) => void) | undefined;
    let sent = false;
    let responded = false;
    let status = 0;
    let statusText = '';
    const headers = new Map<string, string>();
    const chunks: Buffer[] = [];
    const fail = (error: SendError) => {
      if (settled) return;
      settled = true;
      deadline.onExpire = undefined;
      error.sent = sent;
      error.responded = responded;
      reject(error);
    };
    const timeout = () => {
      const error: SendError = new Error(`no complete answer within ${deadline.ms} ms`);
      error.timedOut = true;
      fail(error);
      // Aborted here if already written; otherwise at onConnect, before any byte goes out.
      abort?.(error);
    };
    if (deadline.expired) return timeout();
    deadline.onExpire = timeout;
    // undici 7's original handler interface (still supported, typed as deprecated): the one that
    // reports onRequestSent, which its types leave out (gatewaySeams.undiciLegacyHandler, seams.ts).
    const handler: Dispatcher.DispatchHandler & { onRequestSent(): void } = {
      onConnect(abortRequest: (error?: Error) => void) {
        abort = abortRequest;
        if (settled) abortRequest(new Error('fetch already settled'));
      },
      onRequestSent() {
        sent = true;
      },
      onHeaders(statusCode: number, rawHeaders: Buffer[], _resume: () => void, message: string) {
        responded = true;
        status = statusCode;
        statusText = message;
        for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
          headers.set(rawHeaders[i]!.toString('latin1').toLowerCase(), rawHeaders[i + 1]!.toString('latin1'));
        }
        return true;
      },
      onData(chunk: Buffer) {
        chunks.push(chunk);
        return true;
      },
      onComplete() {
        if (settled) return;
        settled = true;
        deadline.onExpire = undefined;
        resolve({ status, statusText, headers, body: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8') });
      },
      onError(error: Error) {
        fail(error as SendError);
      },
    };
    pool.dispatch({ path: request.path, method: request.method, headers: request.headers, body: request.body ?? null }, handler);
  });
}

class BufferedHeaders implements FetcherHeaders {
  constructor(private readonly map: Map<string, string>) {}
  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const current = this.map.get(key);
    this.map.set(key, current === undefined ? value : `${current}, ${value}`);
  }
  delete(name: string): void {
    this.map.delete(name.toLowerCase());
  }
  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }
  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }
  set(name: string, value: string): void {
    this.map.set(name.toLowerCase(), value);
  }
  entries(): IterableIterator<[string, string]> {
    return this.map.entries();
  }
  keys(): IterableIterator<string> {
    return this.map.keys();
  }
  values(): IterableIterator<string> {
    return this.map.values();
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.map.entries();
  }
}

/** The collected answer, as much of the fetch Response as RemoteGraphQLDataSource reads. */
export class BufferedResponse implements FetcherResponse {
  readonly redirected = false;
  readonly headers: FetcherHeaders;
  bodyUsed = false;

  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
    headers: Map<string, string>,
    private readonly body: string,
  ) {
    this.rawHeaders = headers;
    this.headers = new BufferedHeaders(headers);
  }

  private readonly rawHeaders: Map<string, string>;

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  async text(): Promise<string> {
    this.bodyUsed = true;
    return this.body;
  }

  async json(): Promise<any> {
    this.bodyUsed = true;
    return JSON.parse(this.body);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    this.bodyUsed = true;
    const bytes = Buffer.from(this.body, 'utf8');
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  clone(): FetcherResponse {
    return new BufferedResponse(this.url, this.status, this.statusText, new Map(this.rawHeaders), this.body);
  }
}
