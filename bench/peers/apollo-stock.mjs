// Stock Apollo Gateway for `npm run bench -- gateways`: `new ApolloGateway({ supergraphSdl })`
// in @apollo/server's standalone HTTP server, with nothing else but what our subgraphs need
// to accept a request — the client's Authorization header and the gateway secret
// (platform's GATEWAY_SECRET_HEADER) on every subgraph fetch — and what it needs to load
// our supergraph (below).
// Environment: SUPERGRAPH_PATH (join__graph URLs already pointing at the subgraphs),
// PORT, GATEWAY_SECRET.
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
// The header name comes from the bench (platform's GATEWAY_SECRET_HEADER): importing the platform here would load it into this process.
const GATEWAY_SECRET_HEADER = process.env.GATEWAY_SECRET_HEADER;

const secret = process.env.GATEWAY_SECRET;

class AuthForwarding extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    if (secret) request.http?.headers.set(GATEWAY_SECRET_HEADER, secret);
    if (context?.authorization) request.http?.headers.set('authorization', context.authorization);
  }
}

// Apollo Gateway refuses a supergraph linking a `for: SECURITY` feature it does not enforce
// (UNSUPPORTED_LINKED_FEATURE). Our subgraphs enforce @authenticated and @requiresScopes
// themselves, so, as our gateway does (gateway/src/supergraph.ts), the two links lose
// `for: SECURITY` in memory; nothing else of the file changes.
const supergraphSdl = readFileSync(process.env.SUPERGRAPH_PATH, 'utf8').replace(
  /@link\(url: "(https:\/\/specs\.apollo\.dev\/(?:authenticated|requiresScopes)\/v[0-9.]+)", for: SECURITY\)/g,
  '@link(url: "$1")',
);
const gateway = new ApolloGateway({
  supergraphSdl,
  buildService: ({ url }) => new AuthForwarding({ url }),
});
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT), host: '127.0.0.1' },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
process.stderr.write(`stock Apollo Gateway at ${url}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => server.stop().then(() => process.exit(0)));
