-- 索儿's reminders and seasonal messages. A reminder is a wall-clock time in
-- the user's IANA time zone (`local_start`, "YYYY-MM-DDTHH:mm"), once or every
-- day or week: occurrence n is local_start plus n days (or weeks) on the wall
-- clock, so a daily 08:00 stays 08:00 across daylight-saving changes.
-- `next_fire_at` is occurrence `next_occurrence` as an instant; the job that
-- fires it (pg-boss, schema agent_jobs) carries the occurrence number, and a
-- job whose number no longer matches (cancelled, or already fired) does
-- nothing. Advancing to the next occurrence and sending its job happen in one
-- transaction, so each occurrence is scheduled exactly once.
create table "agent".reminders (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  text text not null,
  time_zone text not null,
  local_start text not null,
  recurrence text not null default 'NONE',
  status text not null default 'ACTIVE',
  next_occurrence integer not null default 0,
  next_fire_at timestamptz(3),
  fired_count integer not null default 0,
  last_fired_at timestamptz(3),
  client_key text,
  created_at timestamptz(3) not null default now(),
  cancelled_at timestamptz(3),
  constraint reminders_text_length check (char_length(text) between 1 and 500),
  constraint reminders_recurrence_known check (recurrence in ('NONE', 'DAILY', 'WEEKLY')),
  constraint reminders_status_known check (status in ('ACTIVE', 'DONE', 'CANCELLED')),
  constraint reminders_local_start_shape check (local_start ~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$'),
  constraint reminders_active_has_next check ((status = 'ACTIVE') = (next_fire_at is not null)),
  constraint reminders_client_key_length check (client_key is null or char_length(client_key) between 1 and 200)
);

-- The caller's reminders, newest first (keyset on created_at, id); and a client key names one reminder per user.
create index reminders_user_created_idx on "agent".reminders (user_id, created_at desc, id desc);
create unique index reminders_user_client_key_idx on "agent".reminders (user_id, client_key) where client_key is not null;

-- Users who asked for 索儿's message at each of the 24 solar terms (二十四节气).
create table "agent".season_followers (
  user_id uuid primary key,
  followed_at timestamptz(3) not null default now()
);
