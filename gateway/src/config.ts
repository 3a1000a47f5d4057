import { baseEnv, loadConfig, portSchema, z } from '@suoke/platform';

const env = baseEnv.extend({
  GATEWAY_PORT: portSchema(4000),
  /** The composed supergraph the gateway serves and watches. */
  SUPERGRAPH_PATH: z.string().min(1).default('schema/supergraph.graphql'),
  /** Safety-net poll of the supergraph file, in addition to file-system events. */
  SUPERGRAPH_POLL_MS: z.coerce.number().int().min(100).default(2_000),
  /** Reverse proxies in front of the gateway whose X-Forwarded-For entries are believed. */
  TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
});

export type GatewayConfig = z.infer<typeof env>;

export function loadGatewayConfig(source: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return loadConfig('gateway', env, source);
}

/**
 * Routing URL overrides from the environment: SUBGRAPH_<NAME>_URL replaces the
 * routing_url composed into the supergraph (service names in docker-compose,
 * free ports in tests).
 */
export function subgraphUrlOverrides(source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const [key, value] of Object.entries(source)) {
    const match = /^SUBGRAPH_([A-Z0-9_]+)_URL$/.exec(key);
    if (match?.[1] && value) overrides[match[1].toLowerCase()] = value;
  }
  return overrides;
}
