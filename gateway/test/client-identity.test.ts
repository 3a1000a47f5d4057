// Client awareness, unit level: what the gateway keeps of the client-awareness headers
// (client-identity.ts), how metric labels bound them (ServiceMetrics.clientLabels), and
// which client a trusted documents manifest says owns each document (trusted-documents.ts).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ServiceMetrics } from '../../platform/src/metrics.js';
import {
  cleanClientField,
  clientFromConnection,
  clientFromHeaders,
  MAX_CLIENT_FIELD_LENGTH,
  UNKNOWN_CLIENT,
  withDocumentOwner,
} from '../src/client-identity.js';
import { loadGatewayConfig } from '../src/config.js';
import { parseManifest } from '../src/trusted-documents.js';
import { apolloManifest } from '../../scripts/app-manifest.mjs';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('client identity from headers', () => {
  it('reads the default headers, trimmed', () => {
    expect(clientFromHeaders({ 'apollographql-client-name': '  suoke-app ', 'apollographql-client-version': '2.3.0' })).toEqual({ name: 'suoke-app', version: '2.3.0' });
  });

  it('is (unknown) for a missing, empty or blank header', () => {
    expect(clientFromHeaders({})).toEqual({ name: UNKNOWN_CLIENT, version: UNKNOWN_CLIENT });
    expect(clientFromHeaders({ 'apollographql-client-name': '', 'apollographql-client-version': ' \t ' })).toEqual({ name: UNKNOWN_CLIENT, version: UNKNOWN_CLIENT });
    expect(clientFromHeaders({ 'apollographql-client-name': '\u0000\u001b\u007f' })).toEqual({ name: UNKNOWN_CLIENT, version: UNKNOWN_CLIENT });
  });

  it('removes control characters, line separators and bidi overrides', () => {
    expect(cleanClientField('ios\r\n{"level":60,"msg":"forged"}')).toBe('ios{"level":60,"msg":"forged"}');
    expect(cleanClientField('a\u0085b\u2028c\u202ed\u2066e')).toBe('abcde');
    expect(cleanClientField('索克生活 App')).toBe('索克生活 App');
  });

  it('caps at 128 characters without splitting a surrogate pair', () => {
    const long = 'x'.repeat(10_240);
    expect(cleanClientField(long)).toBe('x'.repeat(MAX_CLIENT_FIELD_LENGTH));
    const emoji = `${'y'.repeat(MAX_CLIENT_FIELD_LENGTH - 1)}😀tail`;
    const kept = cleanClientField(emoji)!;
    expect(kept).toBe('y'.repeat(MAX_CLIENT_FIELD_LENGTH - 1));
    expect(Buffer.from(kept, 'utf8').toString('utf8')).toBe(kept);
    // Control characters are removed before cutting: they cannot push the name out.
    expect(cleanClientField(`${'\u0001'.repeat(500)}web`)).toBe('web');
  });

  it('takes the first of repeated headers and reads Fetch-style headers with configured names', () => {
    expect(cleanClientField(['first', 'second'])).toBe('first');
    const headers = new Headers({ 'x-app': 'kiosk', 'x-app-version': '7' });
    expect(clientFromHeaders(headers, { name: 'x-app', version: 'x-app-version' })).toEqual({ name: 'kiosk', version: '7' });
    expect(clientFromHeaders(headers)).toEqual({ name: UNKNOWN_CLIENT, version: UNKNOWN_CLIENT });
  });

  it('over WebSocket: upgrade headers first, then connectionParams (top level or under headers)', () => {
    expect(clientFromConnection({}, { 'apollographql-client-name': 'web', 'apollographql-client-version': '1.0' })).toEqual({ name: 'web', version: '1.0' });
    expect(clientFromConnection({}, { headers: { 'Apollographql-Client-Name': 'web', 'apollographql-client-version': '1.1' } })).toEqual({ name: 'web', version: '1.1' });
    expect(clientFromConnection({ 'apollographql-client-name': 'native' }, { 'apollographql-client-name': 'web', 'apollographql-client-version': '2' })).toEqual({ name: 'native', version: '2' });
    expect(clientFromConnection({}, null)).toEqual({ name: UNKNOWN_CLIENT, version: UNKNOWN_CLIENT });
    expect(clientFromConnection({}, { 'apollographql-client-name': 42 })).toEqual({ name: UNKNOWN_CLIENT, version: UNKNOWN_CLIENT });
  });

  it('a trusted document owner stands in for a missing name only', () => {
    expect(withDocumentOwner({ name: UNKNOWN_CLIENT, version: '3' }, 'suoke-app')).toEqual({ name: 'suoke-app', version: '3' });
    expect(withDocumentOwner({ name: 'web', version: '3' }, 'suoke-app')).toEqual({ name: 'web', version: '3' });
    expect(withDocumentOwner({ name: UNKNOWN_CLIENT, version: UNKNOWN_CLIENT }, undefined).name).toBe(UNKNOWN_CLIENT);
  });
});

describe('client configuration', () => {
  it('defaults to Apollo header names; configured names are lower-cased; known clients listed', () => {
    const defaults = loadGatewayConfig({});
    expect([defaults.CLIENT_NAME_HEADER, defaults.CLIENT_VERSION_HEADER, defaults.METRICS_CLIENT_NAMES]).toEqual(['apollographql-client-name', 'apollographql-client-version', []]);
    const set = loadGatewayConfig({ CLIENT_NAME_HEADER: 'X-Client', CLIENT_VERSION_HEADER: 'X-Client-Version', METRICS_CLIENT_NAMES: 'suoke-app, web ,' });
    expect([set.CLIENT_NAME_HEADER, set.CLIENT_VERSION_HEADER, set.METRICS_CLIENT_NAMES]).toEqual(['x-client', 'x-client-version', ['suoke-app', 'web']]);
  });

  it('refuses a header name that is not an HTTP token', () => {
    expect(() => loadGatewayConfig({ CLIENT_NAME_HEADER: 'client name' })).toThrow(/CLIENT_NAME_HEADER/);
  });
});

describe('client metric labels', () => {
  const metrics = () => new ServiceMetrics('gateway', { defaultMetrics: false, clients: { names: ['suoke-app'] } });

  it('known clients by name and version; others (other); none (unknown)', () => {
    const m = metrics();
    expect(m.clientLabels({ name: 'suoke-app', version: '2.3.0' })).toEqual({ client: 'suoke-app', client_version: '2.3.0' });
    expect(m.clientLabels({ name: 'suoke-app', version: UNKNOWN_CLIENT })).toEqual({ client: 'suoke-app', client_version: '(unknown)' });
    expect(m.clientLabels({ name: 'stranger', version: '1' })).toEqual({ client: '(other)', client_version: '(other)' });
    expect(m.clientLabels({ name: UNKNOWN_CLIENT, version: UNKNOWN_CLIENT })).toEqual({ client: '(unknown)', client_version: '(unknown)' });
    expect(m.clientLabels(undefined)).toEqual({ client: '(unknown)', client_version: '(unknown)' });
  });

  it('manifest owners become known; a replaced set forgets the old ones', () => {
    const m = metrics();
    m.setKnownClientNames(['kiosk']);
    expect(m.clientLabels({ name: 'kiosk', version: '1' }).client).toBe('kiosk');
    m.setKnownClientNames([]);
    expect(m.clientLabels({ name: 'kiosk', version: '1' }).client).toBe('(other)');
    expect(m.clientLabels({ name: 'suoke-app', version: '1' }).client).toBe('suoke-app');
  });

  it('at most 20 versions per known client, and only version-like ones', () => {
    const m = metrics();
    const labels = Array.from({ length: 30 }, (_, i) => m.clientLabels({ name: 'suoke-app', version: `1.0.${i}` }).client_version);
    expect(labels.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => `1.0.${i}`));
    expect(new Set(labels.slice(20))).toEqual(new Set(['(other)']));
    // A version seen before keeps its label.
    expect(m.clientLabels({ name: 'suoke-app', version: '1.0.3' }).client_version).toBe('1.0.3');
    expect(metrics().clientLabels({ name: 'suoke-app', version: 'has spaces "quotes"' }).client_version).toBe('(other)');
  });

  /** One operation through the metrics plugin as Apollo Server would run it, then the counter's lines. */
  async function countOne(m: ServiceMetrics, clientOf?: (c: { client: { name: string; version: string } }) => { name: string; version: string }) {
    const plugin = m.plugin<{ client: { name: string; version: string } }>(clientOf);
    const hooks = (await plugin.requestDidStart!({} as never)) as { willSendResponse(r: unknown): Promise<void> };
    await hooks.willSendResponse({ operationName: 'Home', request: {}, response: { http: { status: undefined, headers: new Map() } }, contextValue: { client: { name: 'suoke-app', version: '9.9.9' } } });
    return (await m.registry.getSingleMetricAsString('suoke_graphql_requests_total')).split('\n').filter((l) => !l.startsWith('#'));
  }

  it('the gateway series carry client and client_version; subgraph series stay operation-only', async () => {
    expect(await countOne(metrics(), (c) => c.client)).toEqual(['suoke_graphql_requests_total{operation="(other)",client="suoke-app",client_version="9.9.9",service="gateway"} 1']);
    expect(await countOne(new ServiceMetrics('health', { defaultMetrics: false }))).toEqual(['suoke_graphql_requests_total{operation="(other)",service="health"} 1']);
  });
});

describe('trusted documents manifest owners', () => {
  const home = 'query Home { me { id } }';
  const chat = 'query Chat { me { id displayName } }';

  it("Apollo's form: a top-level clientName owns every document, a per-operation one wins", () => {
    const manifest = parseManifest(
      JSON.stringify({
        format: 'apollo-persisted-query-manifest',
        version: 1,
        clientName: 'suoke-app',
        operations: [
          { id: sha(home), name: 'Home', type: 'query', body: home },
          { id: sha(chat), name: 'Chat', type: 'query', body: chat, clientName: 'suoke-web' },
        ],
      }),
    );
    expect(manifest.owners.get(sha(home))).toBe('suoke-app');
    expect(manifest.owners.get(sha(chat))).toBe('suoke-web');
    expect(manifest.clientNames).toEqual(new Set(['suoke-app', 'suoke-web']));
  });

  it("Apollo's form without clientName, and GraphQL Codegen's form, have no owners", () => {
    const apollo = parseManifest(JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: sha(home), body: home }] }));
    expect(apollo.owners.size).toBe(0);
    expect(apollo.byHash.get(sha(home))).toBe(home);
    const codegen = parseManifest(JSON.stringify({ [`sha256:${sha(home)}`]: home, [sha(chat)]: chat }));
    expect(codegen.owners.size).toBe(0);
    expect(codegen.byHash.size).toBe(2);
  });

  it('refuses an owner that is not a clean string, naming the document', () => {
    for (const clientName of ['', ' padded ', 'a\nb', 42, 'x'.repeat(129)]) {
      expect(() => parseManifest(JSON.stringify({ format: 'apollo-persisted-query-manifest', operations: [{ id: sha(home), body: home, clientName }] })), String(clientName)).toThrow(
        /clientName must be/,
      );
    }
  });

  it('the app manifest that npm run codegen writes names suoke-app as the owner of each document', () => {
    const manifest = parseManifest(JSON.stringify(apolloManifest({ [`sha256:${sha(home)}`]: home, [`sha256:${sha(chat)}`]: chat })));
    expect([...manifest.owners.values()]).toEqual(['suoke-app', 'suoke-app']);
    expect(manifest.operationNames).toEqual(new Set(['Home', 'Chat']));
  });
});
