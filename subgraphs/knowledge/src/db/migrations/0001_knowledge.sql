-- TCM reference content of the knowledge subgraph (schema "knowledge"). The
-- rows themselves are not written here: `migrate` upserts them from the typed
-- modules in src/content/ after these files, so content changes ship as code
-- reviews of data, and re-running changes nothing.

-- Trigram matching for search. Trusted since PostgreSQL 13, so the migrating
-- role needs no superuser; PGlite loads it as a contrib extension first. Its
-- functions and operator classes are used schema-qualified (public).
create extension if not exists pg_trgm with schema public;

-- Rows are listed in `position` order (the order of the content modules), with
-- the key as the keyset tie-breaker; positions are not unique on purpose, so
-- that reordering content never trips a constraint mid-statement.

create table "knowledge".constitutions (
  code text primary key,
  position integer not null,
  name text not null,
  short_name text not null,
  name_en text not null,
  pinyin text not null,
  summary text not null,
  summary_en text not null,
  characteristics text[] not null,
  susceptibilities text[] not null,
  advice_diet text not null,
  advice_exercise text not null,
  advice_sleep text not null,
  advice_emotions text not null,
  advice_seasons text not null,
  constraint constitutions_code_format check (code ~ '^[A-Z][A-Z_]*$')
);

create table "knowledge".herbs (
  id text primary key,
  position integer not null,
  name text not null,
  pinyin text not null,
  name_en text not null,
  latin_name text not null,
  category text not null,
  nature text not null,
  flavours text[] not null,
  meridians text[] not null,
  actions text[] not null,
  actions_en text not null,
  cautions text[] not null,
  constraint herbs_id_format check (id ~ '^[a-z]+$'),
  constraint herbs_nature_known check (nature in ('COLD', 'COOL', 'NEUTRAL', 'WARM', 'HOT')),
  constraint herbs_flavours_known check (flavours <@ array['SOUR', 'BITTER', 'SWEET', 'PUNGENT', 'SALTY', 'BLAND', 'ASTRINGENT']),
  constraint herbs_meridians_known check (meridians <@ array['LUNG', 'LARGE_INTESTINE', 'STOMACH', 'SPLEEN', 'HEART', 'SMALL_INTESTINE',
    'BLADDER', 'KIDNEY', 'PERICARDIUM', 'SAN_JIAO', 'GALLBLADDER', 'LIVER', 'CONCEPTION_VESSEL', 'GOVERNING_VESSEL'])
);
create index herbs_position_idx on "knowledge".herbs (position, id);

create table "knowledge".acupoints (
  code text primary key,
  position integer not null,
  name text not null,
  pinyin text not null,
  name_en text not null,
  meridian text not null,
  location text not null,
  indications text[] not null,
  self_care text not null,
  summary_en text not null,
  constraint acupoints_code_format check (code ~ '^[A-Z]{2}[0-9]{1,2}$'),
  constraint acupoints_meridian_known check (meridian in ('LUNG', 'LARGE_INTESTINE', 'STOMACH', 'SPLEEN', 'HEART', 'SMALL_INTESTINE',
    'BLADDER', 'KIDNEY', 'PERICARDIUM', 'SAN_JIAO', 'GALLBLADDER', 'LIVER', 'CONCEPTION_VESSEL', 'GOVERNING_VESSEL'))
);
create index acupoints_position_idx on "knowledge".acupoints (position, code);
create index acupoints_meridian_idx on "knowledge".acupoints (meridian, position, code);

create table "knowledge".syndromes (
  code text primary key,
  position integer not null,
  name text not null,
  pinyin text not null,
  name_en text not null,
  category text not null,
  key_signs text[] not null,
  tongue text not null,
  pulse text not null,
  treatment_principle text not null,
  summary_en text not null,
  constraint syndromes_code_format check (code ~ '^[A-Z][A-Z_]*$')
);
create index syndromes_position_idx on "knowledge".syndromes (position, code);

create table "knowledge".articles (
  id text primary key,
  title text not null,
  title_en text not null,
  summary text not null,
  body text not null,
  tags text[] not null,
  author_agent_id text not null,
  published_at timestamptz not null,
  constraint articles_id_format check (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$')
);
-- Newest first, id as the keyset tie-breaker.
create index articles_published_idx on "knowledge".articles (published_at desc, id desc);
create index articles_tags_idx on "knowledge".articles using gin (tags);

create table "knowledge".foods (
  id text primary key,
  position integer not null,
  name text not null,
  name_en text not null,
  nature text not null,
  constraint foods_id_format check (id ~ '^[a-z]+$'),
  constraint foods_nature_known check (nature in ('COLD', 'COOL', 'NEUTRAL', 'WARM', 'HOT'))
);

-- Links, each listed in `position` order from its first column's side. A
-- removed entity takes its links with it.
create table "knowledge".constitution_herbs (
  constitution_code text not null references "knowledge".constitutions (code) on delete cascade,
  herb_id text not null references "knowledge".herbs (id) on delete cascade,
  position integer not null,
  primary key (constitution_code, herb_id)
);

create table "knowledge".constitution_foods (
  constitution_code text not null references "knowledge".constitutions (code) on delete cascade,
  food_id text not null references "knowledge".foods (id) on delete cascade,
  position integer not null,
  primary key (constitution_code, food_id)
);

create table "knowledge".constitution_acupoints (
  constitution_code text not null references "knowledge".constitutions (code) on delete cascade,
  acupoint_code text not null references "knowledge".acupoints (code) on delete cascade,
  position integer not null,
  primary key (constitution_code, acupoint_code)
);

create table "knowledge".syndrome_constitutions (
  syndrome_code text not null references "knowledge".syndromes (code) on delete cascade,
  constitution_code text not null references "knowledge".constitutions (code) on delete cascade,
  position integer not null,
  primary key (syndrome_code, constitution_code)
);
-- Constitution.relatedSyndromes reads the links from the other side.
create index syndrome_constitutions_constitution_idx on "knowledge".syndrome_constitutions (constitution_code);

create table "knowledge".article_constitutions (
  article_id text not null references "knowledge".articles (id) on delete cascade,
  constitution_code text not null references "knowledge".constitutions (code) on delete cascade,
  position integer not null,
  primary key (article_id, constitution_code)
);

-- One search document per item of every kind, written by the content sync from
-- the same modules. `display` is the item's text as shown in snippets;
-- `normalised` is the same text folded character by character (lower case,
-- pinyin tone marks removed), so a match position in one is the position in
-- the other. `names` holds the folded names an exact hit compares against
-- (Chinese, pinyin with and without spaces, English, Latin, code, aliases);
-- `extra` holds folded spellings that are for matching only (e.g. ü as v).
create table "knowledge".search_documents (
  kind text not null,
  key text not null,
  names text[] not null,
  names_text text not null,
  display text not null,
  normalised text not null,
  extra text not null,
  -- Everything one substring or trigram predicate looks at.
  document text generated always as (names_text || ' ' || extra || ' ' || normalised) stored,
  -- Words for full-text search ('simple': no stemming, so pinyin and English
  -- are kept as written); names outweigh body text.
  tsv tsvector generated always as (
    setweight(to_tsvector('simple'::regconfig, names_text || ' ' || extra), 'A')
    || setweight(to_tsvector('simple'::regconfig, normalised), 'B')
  ) stored,
  primary key (kind, key),
  constraint search_documents_kind_known check (kind in ('CONSTITUTION', 'HERB', 'ACUPOINT', 'SYNDROME', 'ARTICLE')),
  constraint search_documents_aligned check (char_length(display) = char_length(normalised))
);
create index search_documents_tsv_idx on "knowledge".search_documents using gin (tsv);
-- Serves LIKE '%…%' (Chinese substrings included) and the fuzzy name operator.
create index search_documents_document_trgm_idx on "knowledge".search_documents using gin (document public.gin_trgm_ops);
create index search_documents_names_trgm_idx on "knowledge".search_documents using gin (names_text public.gin_trgm_ops);
create index search_documents_names_idx on "knowledge".search_documents using gin (names);
