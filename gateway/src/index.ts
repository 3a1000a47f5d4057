// First: patches http, graphql and ioredis before anything below loads them.
import '@suoke/platform/telemetry/start';
import { setFlagsFromString } from 'node:v8';
import { createLogger, loadConfigOrExit, startTracing, stopOnSignals } from '@suoke/platform';
import { isClusterPrimary, runPrimary } from './cluster.js';
import { heapGrowingFlag, loadGatewayConfig, subgraphUrlOverrides } from './config.js';
import { createGateway } from './server.js';

const config = loadConfigOrExit(() => loadGatewayConfig());
const heapFlag = heapGrowingFlag(config.GATEWAY_HEAP_GROWING_PERCENT);
// Read by V8 after every full collection, so setting it before the gateway serves is early enough.
if (heapFlag) setFlagsFromString(heapFlag);
if (isClusterPrimary(config.GATEWAY_WORKERS)) {
  // GATEWAY_WORKERS > 1: this process only keeps the workers (each runs the branch below) running.
  const log = createLogger({ service: 'gateway', level: config.LOG_LEVEL, format: config.LOG_FORMAT, nodeEnv: config.NODE_ENV, file: config.LOG_FILE });
  runPrimary({ workers: config.GATEWAY_WORKERS, log, stopTimeoutMs: config.SHUTDOWN_DELAY_MS + config.SHUTDOWN_GRACE_MS + 5_000 });
} else {
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
}
