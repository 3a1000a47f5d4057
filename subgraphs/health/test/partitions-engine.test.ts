import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSubgraph, until } from '@suoke/platform/testing';
import { definition, type HealthSubgraph } from '../src/server.js';
import { monthStart } from '../src/service/ingest.js';
import { PARTITION_QUEUE } from '../src/service/partitions.js';

// Partition upkeep as a job on the health subgraph's job engine (pg-boss in schema health_jobs): scheduled by
// cron, run at start, and a detached month comes back when a job runs, without calling the service directly.

let health: Awaited<ReturnType<typeof startTestSubgraph>>;
const month = (offset: number) => {
  const start = monthStart(new Date(), offset);
  return `observations_${start.getUTCFullYear()}_${String(start.getUTCMonth() + 1).padStart(2, '0')}`;
};

beforeAll(async () => {
  health = await startTestSubgraph(definition, { env: { OBSERVATION_PARTITION_CRON: '*/5 * * * *', JOBS_POLL_INTERVAL_MS: '500' } });
});
afterAll(async () => {
  await health?.close();
});


const attached = async (name: string) =>
  (
    await health.database.rows<{ n: number }>(sql`
      select count(*)::int as n from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = '"health".observations'::regclass and c.relname = ${name}`)
  )[0]!.n;

describe('observation partitions on the job engine', () => {
  it('is scheduled by cron in the health subgraph’s own job schema, and ran once at start', async () => {
    const schedules = await health.database.rows<{ name: string; cron: string }>(sql`select name, cron from health_jobs.schedule`);
    expect(schedules).toEqual([{ name: PARTITION_QUEUE, cron: '*/5 * * * *' }]);
    const queues = await health.database.rows<{ name: string; retry_backoff: boolean }>(sql`select name, retry_backoff from health_jobs.queue where name = ${PARTITION_QUEUE}`);
    expect(queues).toEqual([{ name: PARTITION_QUEUE, retry_backoff: true }]);
    expect((health.subgraph as unknown as HealthSubgraph).partitions.stats).toMatchObject({ runs: 1, failures: 0 });
  });

  it('a missing month is made again by a job sent to the queue', async () => {
    const name = month(2);
    await health.database.exec(`alter table "health".observations detach partition "health".${name}; drop table "health".${name}`);
    expect(Number(await attached(name))).toBe(0);
    const jobs = (health.subgraph as unknown as HealthSubgraph).jobs;
    await jobs.send(PARTITION_QUEUE, { reason: 'test' });
    await until('the partition to be attached again', async () => (Number(await attached(name)) === 1 ? true : undefined));
    expect((health.subgraph as unknown as HealthSubgraph).partitions.stats.failures).toBe(0);
  });
});
