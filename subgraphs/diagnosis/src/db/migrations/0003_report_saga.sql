-- The consultation follow-up saga: a completed consultation's report is
-- PENDING until the agent has explained it and the user has been notified,
-- then PUBLISHED; FAILED (with a reason the user may read) when a step failed
-- and the steps done were compensated. Reports stored before this migration
-- were complete when written: they are PUBLISHED.
alter table "diagnosis".reports
  add column status text not null default 'PUBLISHED',
  add column status_reason text,
  add constraint reports_status_known check (status in ('PENDING', 'PUBLISHED', 'FAILED')),
  add constraint reports_reason_when_failed check ((status = 'FAILED') = (status_reason is not null));

-- One saga per report; a retry runs it again as the next attempt. A runner
-- holds the saga while lease_until is in the future, and proves it holds it
-- with lease_token on every write: a runner that stalled past its lease
-- cannot overwrite the one that took over. A saga RUNNING or COMPENSATING
-- with a lapsed lease (its process died) is picked up by any replica.
create table "diagnosis".report_sagas (
  report_id uuid primary key references "diagnosis".reports (id) on delete cascade,
  user_id uuid not null,
  attempt int not null default 1,
  state text not null default 'RUNNING',
  reason text,
  lease_until timestamptz(3),
  lease_token uuid,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  constraint report_sagas_state_known check (state in ('RUNNING', 'COMPENSATING', 'PUBLISHED', 'FAILED')),
  constraint report_sagas_attempt_positive check (attempt >= 1)
);

-- The sweep for sagas whose runner is gone.
create index report_sagas_unfinished_idx on "diagnosis".report_sagas (lease_until nulls first) where state in ('RUNNING', 'COMPENSATING');

-- Each step's outcome per attempt. STARTED is written before the step's call,
-- so that a step whose outcome is unknown (the process died during the call)
-- is compensated too: compensations are idempotent by the same key.
create table "diagnosis".report_saga_steps (
  report_id uuid not null references "diagnosis".report_sagas (report_id) on delete cascade,
  attempt int not null,
  step text not null,
  status text not null,
  result jsonb,
  error text,
  updated_at timestamptz(3) not null default now(),
  primary key (report_id, attempt, step),
  constraint report_saga_steps_step_known check (step in ('EXPLAIN', 'NOTIFY')),
  constraint report_saga_steps_status_known check (status in ('STARTED', 'DONE', 'COMPENSATED'))
);
