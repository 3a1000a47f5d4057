-- Audit log of every read and write of this subgraph's consultations and reports, and of
-- every refusal (platform/src/audit.ts writes it, one statement per request).
-- Only who, what, which record ids and the outcome: never a value.
create table "diagnosis".audit_events (
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
create index audit_events_at_idx on "diagnosis".audit_events (at desc, id desc);
create index audit_events_actor_at_idx on "diagnosis".audit_events (actor, at desc, id desc);

-- Append-only for everyone, the table's owner included (privileges would not
-- bind the owner): statement-level, so an UPDATE or DELETE matching no row is
-- refused too.
create function "diagnosis".audit_events_append_only() returns trigger
language plpgsql as $$
begin
  raise exception 'audit_events is append-only: % refused', tg_op using errcode = 'insufficient_privilege';
end;
$$;

create trigger audit_events_no_update_delete before update or delete on "diagnosis".audit_events
  for each statement execute function "diagnosis".audit_events_append_only();
create trigger audit_events_no_truncate before truncate on "diagnosis".audit_events
  for each statement execute function "diagnosis".audit_events_append_only();
