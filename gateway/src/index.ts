// First: patches http, graphql and ioredis before anything below loads them.
import '@suoke/platform/telemetry/start';
import { loadConfigOrExit, startTracing, stopOnSignals } from '@suoke/platform';
import { loadGatewayConfig, subgraphUrlOverrides } from './config.js';
import { createGateway } from './server.js';

const config = loadConfigOrExit(() => loadGatewayConfig());
const tracing = await startTracing({ serviceName: 'gateway', config });
const gateway = createGateway({ config, subgraphUrls: subgraphUrlOverrides() });
const { url } = await gateway.listen(config.GATEWAY_PORT);
gateway.log.info(
  { url, sandbox: config.NODE_ENV === 'production' ? undefined : url, redis: Boolean(config.REDIS_URL), tracing: tracing.description },
  'gateway ready',
);
stopOnSignals(gateway.log, async () => {
  await gateway.stop();
  await tracing.shutdown();
});
