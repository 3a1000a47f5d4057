-- Observation partitions are made ahead of time by a maintenance step (this
-- migration, then the health process's periodic job: service/partitions.ts),
-- never inside a user's write. `CREATE TABLE ... PARTITION OF` holds an ACCESS
-- EXCLUSIVE lock on "health".observations until its transaction ends, so the
-- former create-on-write blocked every reader and writer of every user behind
-- one ingest; a write for a month without a partition now fails as a whole
-- (nothing stored, the idempotency keys included) and the client may retry.
drop function if exists "health".ensure_observation_partitions(timestamptz[]);

-- Creates the monthly partitions (UTC months, named observations_YYYY_MM) from
-- the month of `first_month` to that of `last_month`, skipping those that
-- exist; returns how many it created (or attached again). Each is created on its own and then
-- attached: ATTACH PARTITION takes only SHARE UPDATE EXCLUSIVE on the parent,
-- which readers and writers do not wait for. Runs serialise on an advisory lock
-- (replicas may run the job at once), so a second run finds the first's tables.
create function "health".create_observation_partitions(first_month timestamptz, last_month timestamptz) returns integer
language plpgsql as $$
declare
  month_start timestamp; -- UTC wall-clock start of the month
  partition_name text;
  created integer := 0;
begin
  perform pg_advisory_xact_lock(hashtext('health.observations:partitions'));
  for month_start in
    select generate_series(date_trunc('month', first_month at time zone 'UTC'), date_trunc('month', last_month at time zone 'UTC'), interval '1 month')
  loop
    partition_name := 'observations_' || to_char(month_start, 'YYYY_MM');
    -- A table of that name that is not a partition (detached, or left by a failed run) is attached again.
    continue when exists (
      select from pg_inherits
      where inhrelid = to_regclass(format('%I.%I', 'health', partition_name))
        and inhparent = '"health".observations'::regclass
    );
    if to_regclass(format('%I.%I', 'health', partition_name)) is null then
      execute format('create table %I.%I (like %I.observations including defaults including constraints)', 'health', partition_name, 'health');
    end if;
    execute format(
      'alter table %I.observations attach partition %I.%I for values from (%L) to (%L)',
      'health', 'health', partition_name,
      to_char(month_start, 'YYYY-MM-DD') || ' 00:00:00+00',
      to_char(month_start + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00'
    );
    created := created + 1;
  end loop;
  return created;
end;
$$;

-- The default window: OBSERVATION_MAX_AGE_MONTHS (24) back to
-- OBSERVATION_PARTITIONS_AHEAD_MONTHS (3) ahead. The job widens it at start
-- when the configuration asks for more, and moves it on every month.
select "health".create_observation_partitions(now() - interval '24 months', now() + interval '3 months');
