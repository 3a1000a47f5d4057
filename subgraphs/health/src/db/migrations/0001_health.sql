-- Health data of the health subgraph (schema "health").

-- Observations: a time series, range-partitioned by month on recorded_at so
-- that old months can be detached or dropped whole and queries over recent days
-- touch recent partitions only. Partitions are never created by hand: the
-- ingest transaction calls health.ensure_observation_partitions first.
create table "health".observations (
  id uuid not null default gen_random_uuid(),
  user_id uuid not null,
  type text not null,
  value double precision not null,
  diastolic double precision,
  recorded_at timestamptz not null,
  source text,
  external_id text not null,
  created_at timestamptz not null default now(),
  -- A partitioned table's primary key must include the partition key.
  primary key (id, recorded_at),
  constraint observations_type_known check (
    type in ('HEART_RATE', 'BLOOD_PRESSURE', 'SLEEP', 'STEPS', 'WEIGHT', 'BLOOD_GLUCOSE', 'BODY_TEMPERATURE')
  ),
  constraint observations_diastolic_only_blood_pressure check ((type = 'BLOOD_PRESSURE') = (diastolic is not null))
) partition by range (recorded_at);

-- A user's timeline, newest first, with id as the keyset tie-breaker.
create index observations_user_recorded_idx on "health".observations (user_id, recorded_at desc, id desc);
-- The same filtered by type (type filter, per-type summaries).
create index observations_user_type_recorded_idx on "health".observations (user_id, type, recorded_at desc, id desc);

-- Idempotency of ingest: one row per (user, externalId) ever recorded. It is a
-- plain table because a unique constraint on observations would have to include
-- recorded_at, and a replayed measurement must be recognised whatever its time.
create table "health".observation_keys (
  user_id uuid not null,
  external_id text not null,
  created_at timestamptz not null default now(),
  primary key (user_id, external_id),
  constraint observation_keys_external_id_length check (char_length(external_id) between 1 and 128)
);

-- Creates the monthly partitions (UTC months, named observations_YYYY_MM) that
-- the given instants fall into and that do not exist yet. Creators serialise on
-- an advisory lock held to the end of the transaction; a creator that waited
-- finds the winner's table through CREATE TABLE IF NOT EXISTS.
create function "health".ensure_observation_partitions(instants timestamptz[]) returns void
language plpgsql as $$
declare
  month_start timestamp; -- UTC wall-clock start of the month
  partition_name text;
begin
  for month_start in
    select distinct date_trunc('month', instant at time zone 'UTC')
    from unnest(instants) as instant
    where instant is not null
  loop
    partition_name := 'observations_' || to_char(month_start, 'YYYY_MM');
    continue when to_regclass(format('%I.%I', 'health', partition_name)) is not null;
    perform pg_advisory_xact_lock(hashtext('health.observations:partitions'));
    execute format(
      'create table if not exists %I.%I partition of %I.observations for values from (%L) to (%L)',
      'health', partition_name, 'health',
      to_char(month_start, 'YYYY-MM-DD') || ' 00:00:00+00',
      to_char(month_start + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00'
    );
  end loop;
end;
$$;

-- Health profiles: one row per user who saved one.
create table "health".profiles (
  user_id uuid primary key,
  sex text,
  birth_date date,
  height_cm double precision,
  blood_type text,
  conditions text[] not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint profiles_sex_known check (sex in ('FEMALE', 'MALE', 'OTHER')),
  constraint profiles_height_range check (height_cm between 30 and 272),
  constraint profiles_blood_type_known check (
    blood_type in ('A_POSITIVE', 'A_NEGATIVE', 'B_POSITIVE', 'B_NEGATIVE', 'AB_POSITIVE', 'AB_NEGATIVE', 'O_POSITIVE', 'O_NEGATIVE')
  )
);
