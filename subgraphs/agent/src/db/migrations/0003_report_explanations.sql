-- Explanations of diagnosis reports written by the consultation follow-up saga.
-- One row per saga-step key: it makes `explainReport` idempotent, and a
-- retraction leaves the row behind as a tombstone (retracted_at set), so that a
-- late or repeated request under a retracted key writes nothing. A retraction
-- may arrive before anything was written: then only key and retracted_at are set.
create table "agent".report_explanations (
  key text primary key,
  user_id uuid,
  report_id uuid,
  conversation_id uuid,
  message_id uuid,
  created_at timestamptz(3) not null default now(),
  retracted_at timestamptz(3),
  constraint report_explanations_key_length check (char_length(key) between 1 and 200),
  constraint report_explanations_written_or_retracted check (message_id is not null or retracted_at is not null)
);
