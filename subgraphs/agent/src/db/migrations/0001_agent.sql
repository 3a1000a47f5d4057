-- Agents, conversations and messages of the agent subgraph (schema "agent").

-- The agents: reference data, filled by 0002 and changed only by later
-- migrations. Their personas (system prompts, intents) live in code, keyed by id.
create table "agent".agents (
  id text primary key,
  position int not null unique,
  name text not null,
  name_en text not null,
  role text not null,
  description text not null,
  capabilities text[] not null,
  constraint agents_role_known check (role in ('HEALTH_ASSISTANT', 'SERVICES', 'KNOWLEDGE', 'LIFESTYLE'))
);

-- One conversation of one user with one agent. Millisecond timestamps, so that
-- a keyset cursor (updated_at, id) round-trips exactly through a JavaScript Date.
create table "agent".conversations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  agent_id text not null references "agent".agents (id),
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now()
);

-- A user's conversations, most recently active first, with id as the keyset tie-breaker.
create index conversations_user_updated_idx on "agent".conversations (user_id, updated_at desc, id desc);

-- Messages in the order they were stored: `seq` orders them exactly, where two
-- messages stored within the same millisecond would tie on created_at.
-- `citations` lists the knowledge entities a reply relies on, as
-- [{ "kind": "CONSTITUTION", "key": "QI_DEFICIENT" }, …].
create table "agent".messages (
  id uuid primary key default gen_random_uuid(),
  seq bigint generated always as identity,
  conversation_id uuid not null references "agent".conversations (id) on delete cascade,
  role text not null,
  text text not null,
  degraded boolean not null default false,
  provider text,
  citations jsonb not null default '[]',
  created_at timestamptz(3) not null default now(),
  constraint messages_role_known check (role in ('USER', 'AGENT')),
  constraint messages_provider_known check (provider in ('OPENAI_COMPATIBLE', 'OFFLINE')),
  constraint messages_provider_agent_only check ((role = 'AGENT') = (provider is not null)),
  constraint messages_text_length check (char_length(text) between 1 and 8000),
  constraint messages_citations_array check (jsonb_typeof(citations) = 'array')
);

-- A conversation's messages, newest first.
create index messages_conversation_seq_idx on "agent".messages (conversation_id, seq desc);
