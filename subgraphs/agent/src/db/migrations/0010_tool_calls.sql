-- The tools a reply used (issue 20, `Message.toolCalls`): per call the tool, the round, the outcome, the refusal's
-- code and a short summary the user can read, written once with the reply. Kept on the message row (not a table of
-- its own) so that reading a page of messages reads them with no further statement. Only what the owner may read
-- goes in: summaries, never tool arguments or results (which hold ids such as slot ids).
alter table "agent".messages
  add column tool_calls jsonb not null default '[]'::jsonb,
  add constraint messages_tool_calls_array check (jsonb_typeof(tool_calls) = 'array');
