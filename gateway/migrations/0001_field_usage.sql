-- Field usage recorded by the gateway (gateway/src/usage/). Unqualified names: the store runs
-- migrations with search_path set to USAGE_SCHEMA (default gateway_usage).

-- One row per hour bucket, schema coordinate, client (name, version as sent, capped) and operation
-- (name and signature hash). Counts are estimated totals; replicas add into the same row.
create table field_usage (
  hour timestamptz not null,
  coordinate text not null,
  client_name text not null,
  client_version text not null,
  operation_name text not null,
  signature text not null,
  count bigint not null,
  first_seen timestamptz(3) not null,
  last_seen timestamptz(3) not null,
  primary key (coordinate, hour, client_name, client_version, operation_name, signature)
);

-- Retention deletes by hour; `--unused` and exports scan a window of hours.
create index field_usage_hour_idx on field_usage (hour);

-- Which subgraph served each field (from the query plans), per hour: a field moved with @override
-- shows its traffic moving from one subgraph to the other.
create table field_subgraphs (
  hour timestamptz not null,
  coordinate text not null,
  subgraph text not null,
  count bigint not null,
  first_seen timestamptz(3) not null,
  last_seen timestamptz(3) not null,
  primary key (coordinate, hour, subgraph)
);

create index field_subgraphs_hour_idx on field_subgraphs (hour);

-- When retention last ran, so that of all replicas only one deletes per hour.
create table maintenance (
  task text primary key,
  ran_at timestamptz not null
);

insert into maintenance (task, ran_at) values ('retention', '-infinity');
