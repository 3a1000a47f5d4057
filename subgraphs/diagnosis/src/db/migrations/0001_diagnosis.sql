-- Consultations of the diagnosis subgraph (schema "diagnosis").

-- The constitution questionnaire: reference data, filled by 0002 and changed
-- only by later migrations (answers are scored against the rows present).
create table "diagnosis".questions (
  id text primary key,
  constitution text not null,
  position int not null unique,
  text text not null,
  text_en text not null,
  reverse_scored boolean not null default false,
  constraint questions_constitution_known check (
    constitution in ('BALANCED', 'QI_DEFICIENT', 'YANG_DEFICIENT', 'YIN_DEFICIENT', 'PHLEGM_DAMP',
                     'DAMP_HEAT', 'BLOOD_STASIS', 'QI_STAGNATION', 'INHERITED_SPECIAL')
  )
);

-- One consultation per visit. Millisecond timestamps, so that a keyset
-- cursor (started_at, id) round-trips exactly through a JavaScript Date.
create table "diagnosis".consultations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  agent_id text not null,
  status text not null default 'OPEN',
  started_at timestamptz(3) not null default now(),
  completed_at timestamptz(3),
  cancelled_at timestamptz(3),
  constraint consultations_agent_known check (agent_id in ('xiaoai', 'xiaoke', 'laoke', 'soer')),
  constraint consultations_status_known check (status in ('OPEN', 'COMPLETED', 'CANCELLED')),
  constraint consultations_completed_at check ((status = 'COMPLETED') = (completed_at is not null)),
  constraint consultations_cancelled_at check ((status = 'CANCELLED') = (cancelled_at is not null))
);

-- A user's consultations, newest first, with id as the keyset tie-breaker.
create index consultations_user_started_idx on "diagnosis".consultations (user_id, started_at desc, id desc);

-- The result of each method performed in a consultation; submitting a method
-- again while the consultation is open replaces its result. `input` is what
-- the client sent (answers, observations; pulse samples are not kept), `result`
-- what was computed from it.
create table "diagnosis".method_results (
  consultation_id uuid not null references "diagnosis".consultations (id) on delete cascade,
  method text not null,
  input jsonb not null,
  result jsonb not null,
  submitted_at timestamptz(3) not null default now(),
  primary key (consultation_id, method),
  constraint method_results_method_known check (method in ('INQUIRY', 'INSPECTION', 'LISTENING', 'PALPATION'))
);

-- At most one report per consultation, written with the status change.
create table "diagnosis".reports (
  id uuid primary key default gen_random_uuid(),
  consultation_id uuid not null unique references "diagnosis".consultations (id) on delete cascade,
  user_id uuid not null,
  primary_constitution text not null,
  secondary_constitutions text[] not null,
  scores jsonb not null,
  findings jsonb not null,
  suggested_syndromes text[] not null,
  methods text[] not null,
  confidence double precision not null,
  advice_summary text not null,
  advice_summary_en text not null,
  created_at timestamptz(3) not null default now(),
  constraint reports_confidence_range check (confidence between 0 and 1)
);

-- latestReport: the newest report per user.
create index reports_user_created_idx on "diagnosis".reports (user_id, created_at desc, id desc);
