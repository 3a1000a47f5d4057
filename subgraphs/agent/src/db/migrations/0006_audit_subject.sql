-- Delegated reads (issue 20): a token whose subject is a user and whose actor
-- is a service (`service:agent`) is audited with both ids. `actor` keeps who
-- acted; `subject` is whose data it was, null when the actor acted for itself.
alter table "agent".audit_events add column subject text;

-- A user's delegated reads, newest first.
create index audit_events_subject_at_idx on "agent".audit_events (subject, at desc, id desc) where subject is not null;
