import PgBoss from 'pg-boss';
import { Counter, Gauge, type Registry } from 'prom-client';
import { sql } from 'drizzle-orm';
import type { Database, Db } from '../db.js';
import type { Logger } from '../logger.js';
import { bossDb, rowsOf, transactionDb, type BossDb } from './adapter.js';

/**
 * Durable jobs on pg-boss, in a schema of the subgraph's own database
 * (`agent_jobs`, `health_jobs`): a job survives the process that sent it, a
 * worker that dies holding one gives it back when it expires, a failure is
 * retried with exponential backoff, and an effect wrapped in `once` happens
 * once per idempotency key however often its job runs.
 */
export interface JobEngineOptions {
  database: Database;
  /** pg-boss's schema, one per subgraph, e.g. `agent_jobs`. */
  schema: string;
  log: Logger;
  /** How often an idle worker asks for work (pg-boss allows 500 ms at least). Default 2000. */
  pollIntervalMs?: number;
  /**
   * How often expired jobs (their worker died: SIGKILL, OOM, lost host) are put back for retry, and old
   * ones archived. Default 60 s.
   */
  maintenanceIntervalSeconds?: number;
  /** Cron schedules (pg-boss's timekeeper). Default true. */
  schedules?: boolean;
  /** Where `suoke_jobs_total` is registered (the subgraph's /metrics). */
  registry?: Registry;
}

export interface QueueDefinition<T> {
  name: string;
  handler: (job: JobRun<T>) => Promise<void>;
  /** Attempts after the first. Default 5. */
  retryLimit?: number;
  /** Base of the backoff: retry n waits between d·2^(n−1) and d·2^n seconds. Default 2. */
  retryDelaySeconds?: number;
  /** A run that has not finished after this long counts as failed (its worker is presumed dead). Default 300. */
  expireInSeconds?: number;
  /**
   * pg-boss's queue policy. `short` keeps at most one waiting job per `singletonKey` (every job of such a queue
   * should carry one: jobs without a key share the empty key). Default `standard`.
   */
  policy?: 'standard' | 'short';
  /** Jobs of this queue run at once in this process (one pg-boss worker each). Default 1. */
  concurrency?: number;
}

export interface JobRun<T> {
  id: string;
  name: string;
  data: T;
  /** 0 on the first attempt. */
  retryCount: number;
}

export interface SendOptions {
  /** Not before this instant. */
  startAfter?: Date;
  /** On a `short` queue: while a job with this key waits, sending another is a no-op (returns null). */
  singletonKey?: string;
  /** Send inside this drizzle transaction: the job exists only if the transaction commits. */
  tx?: Db;
}

export interface JobEngine {
  readonly schema: string;
  readonly boss: PgBoss;
  /** Counts job outcomes (`suoke_jobs_total`) in this registry, e.g. the subgraph's /metrics; call before `start`. */
  metrics(registry: Registry): void;
  /** Declares a queue and its worker; call before `start`. */
  define<T extends object>(queue: QueueDefinition<T>): void;
  /** Installs or migrates the schema, creates the queues and starts the workers and schedules. */
  start(): Promise<void>;
  /** Enqueues a job; its id, or null when `singletonKey` found one waiting. */
  send<T extends object>(name: string, data: T, options?: SendOptions): Promise<string | null>;
  /**
   * Asks this process's worker of `name` to look for work now instead of at its next poll: for a job sent by a
   * request of this process whose result the user waits for (a photo's analysis). A no-op before `start`.
   */
  wake(name: string): void;
  /** Runs `name` on a cron schedule (replacing an earlier schedule of that queue); `tz` defaults to UTC. */
  schedule(name: string, cron: string, data?: object, tz?: string): Promise<void>;
  /**
   * Runs `effect` in a transaction that also records `key`; if `key` was recorded before (an earlier run of
   * the job committed its effect and then died, or the job was sent twice), nothing runs. `ran` says which.
   */
  once<R>(key: string, effect: (tx: Db) => Promise<R>): Promise<{ ran: true; value: R } | { ran: false }>;
  /** Stops fetching, waits up to `timeoutMs` for running jobs, then gives the rest back (they are retried). */
  stop(timeoutMs?: number): Promise<void>;
}

const jobCounters = new WeakMap<Registry, Counter<'queue' | 'outcome'>>();

function counterIn(registry: Registry | undefined): Counter<'queue' | 'outcome'> | undefined {
  if (!registry) return undefined;
  let counter = jobCounters.get(registry);
  if (!counter) {
    counter = new Counter({
      name: 'suoke_jobs_total',
      help: 'Job runs by queue and outcome: completed, retried (failed, attempts remain) or failed (no attempt left)',
      labelNames: ['queue', 'outcome'],
      registers: [registry],
    });
    jobCounters.set(registry, counter);
  }
  return counter;
}

/** Each engine's reading of its queues' oldest waiting job, per registry: one gauge serves every engine registered there. */
type QueueAges = () => Promise<[queue: string, seconds: number][]>;
const queueAgeReaders = new WeakMap<Registry, Set<QueueAges>>();

function watchQueueAges(registry: Registry, read: QueueAges, log: Logger): void {
  let readers = queueAgeReaders.get(registry);
  if (readers) {
    readers.add(read);
    return;
  }
  readers = new Set([read]);
  queueAgeReaders.set(registry, readers);
  const all = readers;
  let failing = false;
  new Gauge({
    name: 'suoke_jobs_oldest_queued_age_seconds',
    help: 'Seconds the oldest job ready to run (created or waiting for a retry, its start time reached) has waited for a worker, by queue; 0 when none waits',
    labelNames: ['queue'],
    registers: [registry],
    // Every replica reads the same tables: the same figure, not a sum.
    aggregator: 'max',
    async collect() {
      try {
        const results = await Promise.all([...all].map((reader) => reader()));
        for (const ages of results) for (const [queue, seconds] of ages) this.set({ queue }, seconds);
        failing = false;
      } catch (error) {
        // /metrics is still served; the gauge keeps its last values until the database answers again.
        if (!failing) log.warn({ err: error }, 'job queue ages unreadable for /metrics');
        failing = true;
      }
    },
  });
}

export function createJobEngine(options: JobEngineOptions): JobEngine {
  const { database, schema, log } = options;
  const pollIntervalMs = Math.max(500, options.pollIntervalMs ?? 2000);
  const boss = new PgBoss({
    db: bossDb(database),
    schema,
    supervise: true,
    maintenanceIntervalSeconds: options.maintenanceIntervalSeconds ?? 60,
    schedule: options.schedules ?? true,
    // Cron checks: a schedule's job is sent within about 15 s of its minute.
    cronMonitorIntervalSeconds: 10,
  });
  boss.on('error', (error) => log.error({ err: error, schema }, 'job engine error'));
  const queues = new Map<string, QueueDefinition<object>>();
  const workers = new Map<string, string[]>();
  let counter = counterIn(options.registry);
  let started: Promise<void> | undefined;
  const effects = sql.raw(`"${schema}"."effects"`);
  // One statement per scrape, on pg-boss's index of waiting jobs (name, start_after where state < 'active'); straight to
  // the driver, outside the statement counts. Only the declared queues are labels, each 0 when nothing waits.
  const queueAges: QueueAges = async () => {
    const names = [...queues.keys()];
    if (names.length === 0 || !started) return [];
    const { rows } = await bossDb(database).executeSql(
      `select name, extract(epoch from now() - min(start_after))::float8 as age from "${schema}".job
        where name = any($1::text[]) and state < 'active' and start_after <= now() group by name`,
      [names],
    );
    const ages = new Map(rows.map((row) => [String(row.name), Number(row.age)]));
    return names.map((name) => [name, Math.max(0, ages.get(name) ?? 0)]);
  };
  if (options.registry) watchQueueAges(options.registry, queueAges, log);

  async function install(): Promise<void> {
    await installSchema(bossDb(database), schema);
    await boss.start();
    // The done-table of `once`: a key is recorded in the same transaction as its effect.
    await database.exec(`create table if not exists "${schema}"."effects" (key text primary key, done_at timestamptz not null default now())`);
    for (const queue of queues.values()) {
      const settings = {
        name: queue.name,
        policy: queue.policy ?? 'standard',
        retryLimit: queue.retryLimit ?? 5,
        retryDelay: queue.retryDelaySeconds ?? 2,
        retryBackoff: true,
        expireInSeconds: queue.expireInSeconds ?? 300,
      };
      // createQueue leaves an existing queue's settings alone: a changed policy in code must reach the table.
      await boss.createQueue(queue.name, settings);
      await boss.updateQueue(queue.name, settings);
      const run = async ([job]: PgBoss.JobWithMetadata<object>[]) => {
        if (!job) return;
        try {
          await queue.handler({ id: job.id, name: job.name, data: job.data, retryCount: job.retryCount });
          counter?.inc({ queue: queue.name, outcome: 'completed' });
        } catch (error) {
          const retried = job.retryCount < job.retryLimit;
          counter?.inc({ queue: queue.name, outcome: retried ? 'retried' : 'failed' });
          log.warn(
            { err: error, queue: queue.name, jobId: job.id, retryCount: job.retryCount, retryLimit: job.retryLimit },
            retried ? 'job failed; it will be retried after its backoff' : 'job failed for the last time',
          );
          throw error;
        }
      };
      // One pg-boss worker per job to run at once: each fetches one job when idle.
      const ids: string[] = [];
      for (let i = 0; i < Math.max(1, queue.concurrency ?? 1); i += 1) {
        ids.push(await boss.work<object>(queue.name, { pollingIntervalSeconds: pollIntervalMs / 1000, batchSize: 1, includeMetadata: true }, run));
      }
      workers.set(queue.name, ids);
    }
  }

  return {
    schema,
    boss,
    metrics(registry) {
      counter = counterIn(registry);
      watchQueueAges(registry, queueAges, log);
    },
    define(queue) {
      if (started) throw new Error(`queue ${queue.name} must be defined before the job engine starts`);
      queues.set(queue.name, queue as QueueDefinition<object>);
    },
    start() {
      started ??= install();
      return started;
    },
    async send(name, data, sendOptions = {}) {
      const { tx, startAfter, singletonKey } = sendOptions;
      return boss.send(name, data, {
        ...(startAfter ? { startAfter } : {}),
        ...(singletonKey ? { singletonKey } : {}),
        ...(tx ? { db: transactionDb(tx) } : {}),
      });
    },
    wake(name) {
      for (const workerId of workers.get(name) ?? []) boss.notifyWorker(workerId);
    },
    async schedule(name, cron, data, tz = 'UTC') {
      await boss.schedule(name, cron, data ?? {}, { tz });
    },
    async once(key, effect) {
      return database.db.transaction(async (tx) => {
        const recorded = rowsOf(await tx.execute(sql`insert into ${effects} (key) values (${key}) on conflict do nothing returning key`));
        const fresh = recorded.length === 1;
        if (!fresh) return { ran: false as const };
        return { ran: true as const, value: await effect(tx) };
      });
    },
    async stop(timeoutMs = 10_000) {
      if (!started) return;
      await started.catch(() => undefined);
      // pg-boss waits for running handlers (up to the timeout), then fails what still runs so that it is retried.
      // With `wait` it resolves once that is done; a boss that never started returns at once.
      try {
        await boss.stop({ graceful: true, timeout: timeoutMs, close: false, wait: true });
      } catch (error) {
        log.error({ err: error, schema }, 'job engine did not stop cleanly');
      }
    },
  };
}

/**
 * pg-boss installs itself with `CREATE SCHEMA IF NOT EXISTS`, which PostgreSQL refuses to a role without CREATE on
 * the database even when the schema exists: the deployment's per-subgraph roles own their job schema and may create
 * nothing else (deploy/postgres/subgraph-roles.psql). So the first install runs pg-boss's own plan with that one
 * statement made conditional; later starts find the version table, and pg-boss migrates from there.
 */
async function installSchema(db: BossDb, schema: string): Promise<void> {
  const installed = await db.executeSql(`select 1 from pg_catalog.pg_tables where schemaname = $1 and tablename = 'version'`, [schema]);
  if (installed.rows.length > 0) return;
  const plan = PgBoss.getConstructionPlans(schema).replace(
    /CREATE SCHEMA IF NOT EXISTS \S+/,
    `DO $suoke$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '${schema}') THEN EXECUTE 'CREATE SCHEMA ${schema}'; END IF; END $suoke$`,
  );
  try {
    await db.executeSql(plan);
  } catch (error) {
    // Another replica installed it first (pg-boss's own plan fails the same way in that race).
    if (!(error instanceof Error) || !error.message.includes('already exists')) throw error;
  }
}
