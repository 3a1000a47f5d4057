#!/bin/sh
# docker-entrypoint-initdb.d hook of the postgres image (docker-compose.yml
# mounts deploy/postgres there): runs once, on an empty data volume, as the
# superuser. The SQL is in subgraph-roles.psql (not *.sql, so that the
# entrypoint does not also run it without its variables); the passwords come
# from the environment and are never written to a file.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v user_password="${USER_DB_PASSWORD:?set USER_DB_PASSWORD}" \
  -v health_password="${HEALTH_DB_PASSWORD:?set HEALTH_DB_PASSWORD}" \
  -v knowledge_password="${KNOWLEDGE_DB_PASSWORD:?set KNOWLEDGE_DB_PASSWORD}" \
  -v agent_password="${AGENT_DB_PASSWORD:?set AGENT_DB_PASSWORD}" \
  -v diagnosis_password="${DIAGNOSIS_DB_PASSWORD:?set DIAGNOSIS_DB_PASSWORD}" \
  -v gateway_password="${GATEWAY_DB_PASSWORD:?set GATEWAY_DB_PASSWORD}" \
  -f /docker-entrypoint-initdb.d/subgraph-roles.psql
