// Hive Gateway for `npm run bench -- gateways` and `npm run bench -- live`, launched as
// `hive-gateway supergraph <file> --config-path bench/peers/hive-gateway.config.mjs --fork 1`.
// Stock but for what our subgraphs need to accept a request: the client's
// Authorization header and the gateway secret (GATEWAY_SECRET_HEADER, platform's
// name for it, passed in by the bench) on every subgraph fetch. Everything else is
// Hive's default, its in-flight deduplication of identical subgraph fetches included.
//
// Subscriptions (the live bench): clients use GraphQL over WebSocket, whose
// connection_init payload Hive merges into the context's headers, so the token is read
// from there when the request has none; Hive opens each subgraph subscription over HTTP
// with `accept: text/event-stream` (graphql-sse, distinct connections), at our
// subgraphs' stream endpoint, POST <subgraph>/graphql/stream.
import { defineConfig } from '@graphql-hive/gateway';

const secretHeader = process.env.GATEWAY_SECRET_HEADER;
const secret = process.env.GATEWAY_SECRET;

export const gatewayConfig = defineConfig({
  logging: 'warn',
  propagateHeaders: {
    fromClientToSubgraphs: ({ request, context }) => ({
      authorization: request.headers.get('authorization') ?? context?.headers?.authorization ?? context?.connectionParams?.authorization,
      ...(secretHeader && secret ? { [secretHeader]: secret } : {}),
    }),
  },
  transportEntries: {
    '*.http': {
      // POST: Hive's HTTP executor would send a subscription as GET, which the stream endpoint refuses (405).
      options: { subscriptions: { kind: 'http', location: '/graphql/stream', options: { method: 'POST' } } },
    },
  },
});
