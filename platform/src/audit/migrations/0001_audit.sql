-- Audit log of every read and write of a subgraph's data, and of every refusal
-- (platform/src/audit writes it, one statement per request). Only who, what,
-- which record ids and the outcome: never a value. Applied in the schema of
-- each subgraph that uses the audit feature ("{{schema}}").
--
-- Idempotent: databases migrated before the audit feature existed already hold
-- all of this (from the subgraph's own 0002/0004_audit.sql), and upgrading
-- them must change nothing.
create table if not exists "{{schema}}".audit_events (
  id uuid primary key default gen_random_uuid(),
  at timestamptz not null default now(),
  -- The token's subject: a user id, `service:<name>`, or `anonymous`.
  actor text not null,
  action text not null,
  -- A type name such as `Observation`, or a field coordinate.
  resource text not null,
  record_ids text[] not null default '{}',
  outcome text not null,
  -- For DENIED: the error code (FORBIDDEN, UNAUTHENTICATED) or the check that refused.
  reason text,
  trace_id text,
  request_id text,
  constraint audit_events_action_known check (action in ('READ', 'WRITE')),
  constraint audit_events_outcome_known check (outcome in ('ALLOWED', 'DENIED'))
);

-- Paging newest first, all actors or one.
create index if not exists audit_events_at_idx on "{{schema}}".audit_events (at desc, id desc);
create index if not exists audit_events_actor_at_idx on "{{schema}}".audit_events (actor, at desc, id desc);

-- Append-only for everyone, the table's owner included (privileges would not
-- bind the owner): statement-level, so an UPDATE or DELETE matching no row is
-- refused too.
create or replace function "{{schema}}".audit_events_append_only() returns trigger
language plpgsql as $$
begin
  raise exception 'audit_events is append-only: % refused', tg_op using errcode = 'insufficient_privilege';
end;
$$;

create or replace trigger audit_events_no_update_delete before update or delete on "{{schema}}".audit_events
  for each statement execute function "{{schema}}".audit_events_append_only();
create or replace trigger audit_events_no_truncate before truncate on "{{schema}}".audit_events
  for each statement execute function "{{schema}}".audit_events_append_only();
