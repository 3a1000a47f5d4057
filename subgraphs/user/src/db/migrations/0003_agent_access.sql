-- Consent (issue 20): what each user lets the agents read, per scope. No row,
-- or an empty `scopes`, grants nothing: no account starts with a grant, the
-- seeded ones included. `version` goes up on every grant and every revoke, so
-- a reply cached under one version is never served after a change of consent.
create table "user".agent_access (
  user_id uuid primary key references "user".users (id) on delete cascade,
  scopes text[] not null default '{}',
  version bigint not null default 0,
  -- When the scopes held now were last granted; null while nothing is granted.
  granted_at timestamptz(3),
  updated_at timestamptz(3) not null default now(),
  constraint agent_access_scopes_known check (scopes <@ array['HEALTH_SUMMARY', 'HEALTH_PROFILE', 'REPORTS']::text[])
);
