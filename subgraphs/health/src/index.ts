import { createDatabase, loadConfigOrExit, stopOnSignals } from '@suoke/platform';
import { loadHealthConfig } from './config.js';
import { createHealthSubgraph } from './server.js';

const config = loadConfigOrExit(() => loadHealthConfig());
const database = await createDatabase({
  service: 'health',
  url: config.DATABASE_URL,
  poolMax: config.DATABASE_POOL_MAX,
  pgliteDataDir: config.PGLITE_DATA_DIR,
});
const subgraph = createHealthSubgraph({ config, database });
const { url } = await subgraph.listen(config.PORT);
subgraph.log.info({ url, database: database.kind }, 'health subgraph ready');
stopOnSignals(subgraph.log, async () => {
  await subgraph.stop();
  await database.close();
});
