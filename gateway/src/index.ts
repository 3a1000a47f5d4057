import { loadConfigOrExit, stopOnSignals } from '@suoke/platform';
import { loadGatewayConfig, subgraphUrlOverrides } from './config.js';
import { createGateway } from './server.js';

const config = loadConfigOrExit(() => loadGatewayConfig());
const gateway = createGateway({ config, subgraphUrls: subgraphUrlOverrides() });
const { url } = await gateway.listen(config.GATEWAY_PORT);
gateway.log.info(
  { url, sandbox: config.NODE_ENV === 'production' ? undefined : url, redis: Boolean(config.REDIS_URL) },
  'gateway ready',
);
stopOnSignals(gateway.log, () => gateway.stop());
