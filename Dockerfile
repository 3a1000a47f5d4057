# syntax=docker/dockerfile:1
# One Dockerfile for every service: SERVICE picks which one the image runs (the
# gateway, or one subgraph with nothing of the others). Build context: the
# repository root.
#   docker build --build-arg SERVICE=gateway -t suoke/gateway .
#   docker build --build-arg SERVICE=user -t suoke/user .   (user | health | knowledge | agent | diagnosis)
# Subgraph images run `node deploy/migrate.mjs <name>` first (docker-compose.yml
# and the Kubernetes init containers do), then the default command. The gateway
# serves SUPERGRAPH_PATH and watches it: Kubernetes mounts the supergraph
# ConfigMap over it, docker-compose.yml the schema/ folder.
#
# NODE_MAJOR picks the Node.js line: 26 is the Active LTS (supported to April
# 2029); 24 is in maintenance (to April 2028) and builds the same way with
# --build-arg NODE_MAJOR=24. tests/deploy.test.ts fails on a line past its end of life.
# Base: Debian 13 "trixie" slim, the current Debian stable. Bookworm (12) left
# regular security support in June 2026 and only has LTS (a reduced set of
# packages) until 2028.
ARG NODE_MAJOR=26
ARG SERVICE=gateway

FROM node:${NODE_MAJOR}-trixie-slim AS base
WORKDIR /app

# ---- What differs per service: its package folder, port, command and the files
# it reads at run time besides its dist/ (RUNTIME_FILES, paths from /app).
# Metadata only, so every later layer keeps its cache. ----

FROM base AS service-gateway
# Read at run time: the usage store's committed migrations (usage/store.ts) and the supergraph.
ENV SERVICE_DIR=gateway GATEWAY_PORT=4000 SUPERGRAPH_PATH=/app/schema/supergraph.graphql \
    RUNTIME_FILES="gateway/migrations schema/supergraph.graphql"
EXPOSE 4000
CMD ["node", "gateway/dist/index.js"]

# Read at run time by every subgraph: its SDL (server.ts), its committed
# migrations (migrate.ts), and deploy/migrate.mjs, which applies them.
FROM base AS service-user
ENV SERVICE_DIR=subgraphs/user PORT=4001 \
    RUNTIME_FILES="subgraphs/user/src/schema.graphql subgraphs/user/src/db/migrations deploy/migrate.mjs"
EXPOSE 4001
CMD ["node", "subgraphs/user/dist/index.js"]

FROM base AS service-health
ENV SERVICE_DIR=subgraphs/health PORT=4002 \
    RUNTIME_FILES="subgraphs/health/src/schema.graphql subgraphs/health/src/db/migrations deploy/migrate.mjs"
EXPOSE 4002
CMD ["node", "subgraphs/health/dist/index.js"]

FROM base AS service-knowledge
ENV SERVICE_DIR=subgraphs/knowledge PORT=4003 \
    RUNTIME_FILES="subgraphs/knowledge/src/schema.graphql subgraphs/knowledge/src/db/migrations deploy/migrate.mjs"
EXPOSE 4003
CMD ["node", "subgraphs/knowledge/dist/index.js"]

FROM base AS service-agent
ENV SERVICE_DIR=subgraphs/agent PORT=4004 \
    RUNTIME_FILES="subgraphs/agent/src/schema.graphql subgraphs/agent/src/db/migrations deploy/migrate.mjs"
EXPOSE 4004
CMD ["node", "subgraphs/agent/dist/index.js"]

FROM base AS service-diagnosis
ENV SERVICE_DIR=subgraphs/diagnosis PORT=4005 \
    RUNTIME_FILES="subgraphs/diagnosis/src/schema.graphql subgraphs/diagnosis/src/db/migrations deploy/migrate.mjs"
EXPOSE 4005
CMD ["node", "subgraphs/diagnosis/dist/index.js"]

FROM service-${SERVICE} AS service

# Package manifests only, so that dependency layers survive source edits. npm ci
# accepts the full lockfile with only these workspaces present and installs the
# dependencies of the workspaces named with -w.
FROM service AS manifests
COPY package.json package-lock.json ./
COPY platform/package.json platform/
COPY ${SERVICE_DIR}/package.json ${SERVICE_DIR}/

# Production dependencies of the platform and this service (what the image runs).
FROM manifests AS deps
RUN npm ci --omit=dev -w platform -w "$SERVICE_DIR" --no-audit --no-fund \
  && mkdir -p platform/node_modules "$SERVICE_DIR/node_modules"

# Build: resolver types are generated from the subgraph's SDL (codegen.ts finds
# the subgraphs present, here at most this one), then tsc builds it and the
# platform. The root's dev dependencies carry graphql-codegen and TypeScript.
FROM manifests AS build
RUN npm ci -w platform -w "$SERVICE_DIR" --include-workspace-root --no-audit --no-fund
COPY tsconfig.base.json codegen.ts ./
# codegen.ts also reads, when it loads: the feature fragments' registry and the
# API schema checker (scripts/), the supergraph and the app's operations (it types
# them too, from the supergraph's API schema).
COPY scripts/ scripts/
COPY schema/supergraph.graphql schema/
COPY clients/app/operations/ clients/app/operations/
COPY platform/ platform/
COPY ${SERVICE_DIR}/ ${SERVICE_DIR}/
RUN npm run build -w "$SERVICE_DIR"
# After the build, so that editing the migration runner rebuilds nothing. Each
# service ships only what its RUNTIME_FILES name.
COPY deploy/migrate.mjs deploy/
# /out: what the image runs, nothing else (no sources, no dev tooling); a name that
# does not exist fails the build. Feature SDL fragments and SQL migrations are read
# at run time from platform/src/<feature>/ (platform/fragments.json names them).
RUN set -eu; \
  for file in package.json platform/package.json platform/dist platform/fragments.json \
      platform/src/*/*.graphql platform/src/*/migrations \
      "$SERVICE_DIR/package.json" "$SERVICE_DIR/dist" $RUNTIME_FILES; do \
    test -e "$file"; mkdir -p "/out/$(dirname "$file")"; cp -a "$file" "/out/$file"; \
  done

FROM service
ENV NODE_ENV=production NODE_OPTIONS=--max-semi-space-size=32
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/platform/node_modules ./platform/node_modules
COPY --from=deps /app/${SERVICE_DIR}/node_modules ./${SERVICE_DIR}/node_modules
COPY --from=build /out/ ./
# Embedded PGlite (no DATABASE_URL, e.g. a bare `docker run`; the gateway's usage
# store without USAGE_DATABASE_URL) keeps its files here.
RUN mkdir -p .data && chown 1000:1000 .data
# The image's `node` user, numeric so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
# The gateway listens on GATEWAY_PORT, a subgraph on PORT (each stage above sets one).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.GATEWAY_PORT || process.env.PORT) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
