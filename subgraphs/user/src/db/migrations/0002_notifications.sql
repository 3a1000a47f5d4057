-- Notifications shown to a user in the app, written by services (the
-- consultation follow-up saga first). `key` is the writer's idempotency key:
-- the same key never notifies twice. A retracted notification keeps its row
-- as a tombstone (retracted_at set) and is never shown; a retraction may
-- arrive before the notification, and then holds only the key.
create table "user".notifications (
  id uuid primary key default gen_random_uuid(),
  key text not null,
  user_id uuid references "user".users (id) on delete cascade,
  kind text,
  title text,
  body text,
  report_id uuid,
  created_at timestamptz(3) not null default now(),
  read_at timestamptz(3),
  retracted_at timestamptz(3),
  constraint notifications_key_unique unique (key),
  constraint notifications_key_length check (char_length(key) between 1 and 200),
  constraint notifications_kind_known check (kind in ('REPORT_READY')),
  constraint notifications_posted_or_retracted check ((user_id is not null and kind is not null and title is not null and body is not null) or retracted_at is not null)
);

-- A user's visible notifications, newest first, with id as the keyset tie-breaker.
create index notifications_user_created_idx on "user".notifications (user_id, created_at desc, id desc) where retracted_at is null;
