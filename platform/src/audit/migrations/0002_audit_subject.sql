-- Delegated reads (issue 20): a token whose subject is a user and whose actor
-- is a service (`service:agent`) is audited with both ids. `actor` keeps who
-- acted; `subject` is whose data it was, null when the actor acted for itself.
-- Idempotent, as 0001_audit.sql is.
alter table "{{schema}}".audit_events add column if not exists subject text;

-- A user's delegated reads, newest first.
create index if not exists audit_events_subject_at_idx on "{{schema}}".audit_events (subject, at desc, id desc) where subject is not null;
