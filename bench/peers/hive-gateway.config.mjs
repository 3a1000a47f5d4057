// Hive Gateway for `npm run bench -- gateways`, launched as
// `hive-gateway supergraph <file> --config-path bench/peers/hive-gateway.config.mjs --fork 1`.
// Stock but for what our subgraphs need to accept a request: the client's
// Authorization header and the gateway secret (GATEWAY_SECRET_HEADER, platform's
// name for it, passed in by the bench) on every subgraph fetch. Everything else is
// Hive's default, its in-flight deduplication of identical subgraph fetches included.
import { defineConfig } from '@graphql-hive/gateway';

const secretHeader = process.env.GATEWAY_SECRET_HEADER;
const secret = process.env.GATEWAY_SECRET;

export const gatewayConfig = defineConfig({
  logging: 'warn',
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => ({
      authorization: request.headers.get('authorization'),
      ...(secretHeader && secret ? { [secretHeader]: secret } : {}),
    }),
  },
});
