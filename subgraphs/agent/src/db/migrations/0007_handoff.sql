-- Hand-off (issue 20): XiaoAI's reply that passed the question to another agent points at the conversation it
-- opened with that agent (`Message.handedOffTo`). The conversation is the user's own, like the reply; deleting it
-- leaves the reply without the link rather than failing.
alter table "agent".messages
  add column handed_off_to uuid references "agent".conversations (id) on delete set null;

-- A conversation opened by a hand-off records the reply that opened it: where it came from, for the app and for audit.
alter table "agent".conversations
  add column handed_off_from uuid references "agent".messages (id) on delete set null;
