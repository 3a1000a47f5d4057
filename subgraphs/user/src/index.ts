import { createDatabase, loadConfigOrExit, stopOnSignals } from '@suoke/platform';
import { loadUserConfig } from './config.js';
import { createUserSubgraph } from './server.js';

const config = loadConfigOrExit(() => loadUserConfig());
const database = await createDatabase({
  service: 'user',
  url: config.DATABASE_URL,
  poolMax: config.DATABASE_POOL_MAX,
  pgliteDataDir: config.PGLITE_DATA_DIR,
});
const subgraph = createUserSubgraph({ config, database });
const { url } = await subgraph.listen(config.PORT);
subgraph.log.info({ url, database: database.kind }, 'user subgraph ready');
stopOnSignals(subgraph.log, async () => {
  await subgraph.stop();
  await database.close();
});
