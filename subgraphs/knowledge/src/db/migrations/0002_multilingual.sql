-- Questions as people ask them ("huangqi you shenme gongxiao", "What is the
-- yang-deficient constitution and how should it be managed in winter?") hold
-- an item's name among other words, where the other tiers look for the query
-- inside the item. `mentions` holds the item's names in mention form (folded,
-- punctuation as spaces; Latin-script names padded with spaces so that only
-- whole words match), written by the content sync like the other columns.
-- Search checks which of them the query contains. The table holds one row per
-- item (a few hundred), so that check scans it; no index serves "which stored
-- strings occur in this text".
alter table "knowledge".search_documents add column mentions text[] not null default '{}';
