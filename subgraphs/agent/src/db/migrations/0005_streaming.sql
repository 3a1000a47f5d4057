-- Streamed replies (`sendMessage(input: { stream: true })`, `messageStream`).
-- An agent's reply row is stored when the message is sent, as STREAMING with
-- the text so far (persisted as it grows, which is what a subscriber joining
-- mid-stream reads, from any replica), then COMPLETE with its provider and
-- citations, or FAILED with a reason the user can read. Every row written
-- before this migration, and every blocking reply, is COMPLETE.
alter table "agent".messages
  add column status text not null default 'COMPLETE',
  add column status_reason text,
  add constraint messages_status_known check (status in ('STREAMING', 'COMPLETE', 'FAILED')),
  add constraint messages_status_reason_failed check ((status = 'FAILED') = (status_reason is not null));

-- A reply still streaming (or failed) may be empty and have no provider yet; a complete one may not.
alter table "agent".messages drop constraint messages_text_length;
alter table "agent".messages
  add constraint messages_text_length check (char_length(text) <= 8000 and (status <> 'COMPLETE' or char_length(text) >= 1));
alter table "agent".messages drop constraint messages_provider_agent_only;
alter table "agent".messages
  add constraint messages_provider_agent_only check (
    case when role = 'USER' then provider is null and status = 'COMPLETE' else provider is not null or status <> 'COMPLETE' end
  );

-- The sweep of replies left STREAMING by a process that died reads only these (few) rows.
create index messages_streaming_idx on "agent".messages (created_at) where status = 'STREAMING';
