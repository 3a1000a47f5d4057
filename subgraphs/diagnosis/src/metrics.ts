import { Counter, Gauge } from 'prom-client';
import { bossDb, type Database, type Logger, type ServiceMetrics } from '@suoke/platform';
import type { ReportSaga } from './service/saga.js';

/** The age of the oldest unfinished saga, in one statement; 0 when none is unfinished. */
const OLDEST_PENDING_SQL = `select coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as age
  from diagnosis.report_sagas where state = any($1::text[])`;
/** The states of a saga not yet ended (db/saga.ts). */
const UNFINISHED = ['RUNNING', 'COMPENSATING'];

/**
 * The consultation follow-up saga (service/saga.ts) on /metrics:
 * - `suoke_sagas_total{saga, outcome}`: sagas this process ended, completed (report PUBLISHED) or failed
 *   (compensated, report FAILED), read from the saga's stats at each scrape;
 * - `suoke_saga_oldest_pending_age_seconds{saga}`: how long the oldest saga not yet ended (any process's) has
 *   existed, read by one SQL statement at scrape time. The statement goes to the driver directly, outside the
 *   statement counts (a scrape is not an operation's work). When the database fails the gauge keeps its last
 *   value and the rest of /metrics is served; the failure is logged once until the database answers again.
 */
export function watchSagas(metrics: ServiceMetrics, saga: Pick<ReportSaga, 'stats'>, database: Database, log: Logger): void {
  const registers = [metrics.registry];
  new Counter({
    name: 'suoke_sagas_total',
    help: 'Follow-up sagas ended by this process, by saga and outcome: completed (every step done, the report is PUBLISHED) or failed (a step failed for good, the steps begun were compensated, the report is FAILED)',
    labelNames: ['saga', 'outcome'],
    registers,
    collect() {
      this.reset();
      this.inc({ saga: 'consultation', outcome: 'completed' }, saga.stats.published);
      this.inc({ saga: 'consultation', outcome: 'failed' }, saga.stats.failed);
    },
  });
  const db = bossDb(database);
  let failing = false;
  new Gauge({
    name: 'suoke_saga_oldest_pending_age_seconds',
    help: 'Seconds since the oldest saga not yet ended (running or compensating, in any process) was created, by saga; 0 when none is pending',
    labelNames: ['saga'],
    registers,
    // Every replica reads the same table: the same figure, not a sum.
    aggregator: 'max',
    async collect() {
      try {
        const { rows } = await db.executeSql(OLDEST_PENDING_SQL, [UNFINISHED]);
        this.set({ saga: 'consultation' }, Number(rows[0]?.age ?? 0));
        failing = false;
      } catch (error) {
        if (!failing) log.warn({ err: error }, 'oldest pending saga unreadable for /metrics; the gauge keeps its last value');
        failing = true;
      }
    },
  });
}
