import { RemoteGraphQLDataSource } from '@apollo/gateway';
import { libraryVersion, type Seam } from '@suoke/platform';

// The gateway's reaches into library internals (platform's are in
// platform/src/seams): what each relies on, why no public API does the job,
// and a check gateway/test/seams.test.ts runs.

/**
 * datasource.ts: a client operation's fetch is sent by SuokeDataSource's own
 * `process` (public, overridden), which does what Apollo's private
 * `sendRequest`/`respond` do — the same body and headers, `parseBody`,
 * `errorFromResponse`, the subgraph's Cache-Control restricting the
 * operation's cache policy — without node-fetch's Headers and Request per
 * fetch (4 % of the gateway's busy time, bench/RESULTS.md, Tuning). The public
 * hooks (willSendRequest, didReceiveResponse, `fetcher`) all run inside
 * Apollo's process, after those allocations, so they cannot avoid them.
 */
const apolloProcess: Seam = {
  library: '@apollo/gateway',
  relies: "RemoteGraphQLDataSource's process, parseBody, errorFromResponse and honorSubgraphCacheControlHeader, mirrored for client operations",
  check() {
    const prototype = RemoteGraphQLDataSource.prototype;
    for (const name of ['process', 'parseBody', 'errorFromResponse'] as const) {
      if (typeof prototype[name] !== 'function') return `RemoteGraphQLDataSource.prototype.${name} is gone`;
    }
    if (new RemoteGraphQLDataSource({ url: 'http://127.0.0.1/' }).honorSubgraphCacheControlHeader !== true) return 'honorSubgraphCacheControlHeader no longer defaults to true';
    if (!libraryVersion('@apollo/gateway', import.meta.url).startsWith('2.')) return 'a new major release: re-read sendRequest and respond';
    return undefined;
  },
};

/**
 * exchange.ts: a subgraph exchange is dispatched with undici's original
 * handler interface (onConnect, onRequestSent, onHeaders, onData, onComplete,
 * onError), deprecated in undici 7 but supported throughout it. The current
 * interface (onRequestStart … onResponseError) has no `onRequestSent`, and
 * whether the request was written decides how a failure is classified and
 * logged; undici adapts it to the old one with a controller and a parsed
 * header object per request, more work on the hot path than the old handler.
 */
const undiciLegacyHandler: Seam = {
  library: 'undici',
  relies: "the deprecated dispatch handler interface, onRequestSent included (undici 7's Request calls it on every handler)",
  check() {
    const major = Number(libraryVersion('undici', import.meta.url).split('.')[0]);
    return major === 7 ? undefined : `undici ${major} may have dropped the deprecated handler interface: re-check exchange.ts's send`;
  },
};

/** Every seam the gateway relies on, by name. */
export const gatewaySeams = { apolloProcess, undiciLegacyHandler };
