// The job engine's public face: nothing else under jobs/ is imported from outside.
export { createJobEngine, type JobEngine, type JobEngineOptions, type JobRun, type QueueDefinition, type SendOptions } from './engine.js';
export { bossDb, transactionDb, type BossDb } from './adapter.js';
export { jobsEnv, type JobsConfig } from './config.js';
