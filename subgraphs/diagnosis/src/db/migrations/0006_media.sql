-- Media for 望 and 闻 (issue 21): tongue photos and voice recordings. The bytes
-- live in the media store (S3-compatible bucket, or files under MEDIA_DIR);
-- a row here is their whole life: created with a presigned upload, checked and
-- ANALYSING once submitted, then ANALYSED or FAILED. The original (metadata
-- stripped) is deleted after the retention period; the analysis stays.
create table "diagnosis".media (
  id uuid primary key,
  user_id uuid not null,
  consultation_id uuid not null references "diagnosis".consultations (id) on delete cascade,
  kind text not null,
  declared_type text not null,
  declared_bytes int not null,
  status text not null default 'AWAITING_UPLOAD',
  -- What the bytes really are, from the checks at submit.
  content_type text,
  byte_size int,
  width int,
  height int,
  duration_seconds double precision,
  sample_rate int,
  -- The kept original (metadata stripped); null before the worker kept it and after retention deleted it.
  original_key text,
  -- What the person chose alongside the media (corrections, the other fields of the method), applied with the analysis.
  submission jsonb,
  analysis jsonb,
  failure_reason text,
  failure_message text,
  created_at timestamptz(3) not null default now(),
  upload_expires_at timestamptz(3) not null,
  submitted_at timestamptz(3),
  analysed_at timestamptz(3),
  original_deleted_at timestamptz(3),
  constraint media_kind_known check (kind in ('TONGUE_PHOTO', 'VOICE_RECORDING')),
  constraint media_status_known check (status in ('AWAITING_UPLOAD', 'ANALYSING', 'ANALYSED', 'FAILED', 'EXPIRED')),
  constraint media_declared_bytes_positive check (declared_bytes > 0),
  constraint media_failure_explained check ((status = 'FAILED') = (failure_reason is not null))
);

-- A consultation's media, newest first.
create index media_consultation_idx on "diagnosis".media (consultation_id, created_at desc, id desc);
-- Retention: kept originals by age; uploads never submitted by expiry.
create index media_original_kept_idx on "diagnosis".media (submitted_at) where original_key is not null;
create index media_awaiting_upload_idx on "diagnosis".media (upload_expires_at) where status = 'AWAITING_UPLOAD';
