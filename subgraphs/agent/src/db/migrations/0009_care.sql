-- XiaoKe 小克: care plans and appointments (issue 20).

-- Care plans, versioned per user. A version is built from one diagnosis report
-- (owned by the diagnosis subgraph: only its id is kept) and the knowledge base;
-- its recommendations are stored whole (jsonb) with the knowledge entry each
-- cites, so that an old version reads as it was written even after the
-- knowledge base changes. At most one ACTIVE and one PROPOSED version per user.
create table "agent".care_plans (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  version int not null,
  status text not null,
  report_id uuid not null,
  report_created_at timestamptz(3) not null,
  primary_constitution text not null,
  secondary_constitutions text[] not null,
  syndromes text[] not null,
  recommendations jsonb not null,
  created_at timestamptz(3) not null default now(),
  activated_at timestamptz(3),
  superseded_at timestamptz(3),
  constraint care_plans_status_known check (status in ('PROPOSED', 'ACTIVE', 'SUPERSEDED')),
  constraint care_plans_version_positive check (version >= 1),
  constraint care_plans_user_version unique (user_id, version),
  -- One version per report: proposing again for the same report returns it.
  constraint care_plans_user_report unique (user_id, report_id)
);
create unique index care_plans_one_active on "agent".care_plans (user_id) where status = 'ACTIVE';
create unique index care_plans_one_proposed on "agent".care_plans (user_id) where status = 'PROPOSED';

-- Practitioners and their bookable slots (seeded for development by seed.ts).
create table "agent".practitioners (
  id uuid primary key,
  position int not null,
  name text not null,
  title text not null,
  specialty text not null
);

create table "agent".slots (
  id uuid primary key,
  practitioner_id uuid not null references "agent".practitioners (id),
  starts_at timestamptz(3) not null,
  ends_at timestamptz(3) not null,
  constraint slots_span check (ends_at > starts_at),
  constraint slots_practitioner_start unique (practitioner_id, starts_at)
);
create index slots_starts_at_idx on "agent".slots (starts_at, id);

-- A booking. Exactly one BOOKED appointment per slot is the database's rule
-- (the partial unique index), not the application's: fifty concurrent bookings
-- of one slot give one row. A cancelled appointment stays, and frees its slot.
-- `client_key` makes booking idempotent per user; `cancel_key` the cancellation.
create table "agent".appointments (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  slot_id uuid not null references "agent".slots (id),
  client_key text not null,
  status text not null default 'BOOKED',
  created_at timestamptz(3) not null default now(),
  cancelled_at timestamptz(3),
  cancel_key text,
  constraint appointments_status_known check (status in ('BOOKED', 'CANCELLED')),
  constraint appointments_cancelled check ((status = 'CANCELLED') = (cancelled_at is not null)),
  constraint appointments_client_key_length check (char_length(client_key) between 1 and 200),
  constraint appointments_user_client_key unique (user_id, client_key)
);
create unique index appointments_one_booking_per_slot on "agent".appointments (slot_id) where status = 'BOOKED';
create unique index appointments_user_cancel_key on "agent".appointments (user_id, cancel_key) where cancel_key is not null;
create index appointments_user_created_idx on "agent".appointments (user_id, created_at desc, id desc);
