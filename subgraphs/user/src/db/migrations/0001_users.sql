-- Accounts and refresh-token sessions of the user subgraph (schema "user").
create table "user".users (
  id uuid primary key default gen_random_uuid(),
  email text not null,
  password_hash text not null,
  display_name text not null,
  locale text not null default 'zh-CN',
  roles text[] not null default '{USER}',
  -- Millisecond precision: keyset cursors carry created_at through JS Dates.
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  constraint users_email_unique unique (email),
  constraint users_email_normalised check (email = lower(btrim(email)))
);

-- Keyset pagination for the admin list: (created_at, id).
create index users_created_at_id_idx on "user".users (created_at, id);

-- One row per issued refresh token. A sign-in is a family; rotation adds a row
-- to the family, reuse of a used token revokes the family.
create table "user".refresh_tokens (
  id uuid primary key default gen_random_uuid(),
  family_id uuid not null,
  user_id uuid not null references "user".users (id) on delete cascade,
  token_hash text not null,
  expires_at timestamptz not null,
  used_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default now(),
  constraint refresh_tokens_hash_unique unique (token_hash)
);

create index refresh_tokens_family_idx on "user".refresh_tokens (family_id);
