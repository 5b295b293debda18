# syntax=docker/dockerfile:1
# Image of erp-sync: the worker that turns ledger events into ERP and CRM records; serves
# /metrics /healthz /readyz (9466) and the verified webhooks (9467, ERP documents and Zendesk;
# listening only when ERP_SYNC_WEBHOOK_SECRET or ZENDESK_WEBHOOK_SECRET is set).
# Build from the repository root:  docker build -f docker/erp-sync.Dockerfile -t saldo/erp-sync .
# Runs as the unprivileged "node" user; configuration by environment (apps/erp-sync/src/config.ts).
ARG NODE_IMAGE=node:22-bookworm-slim

# 1. Compile every app and lib (tsc + tsc-alias) with the full dependency tree.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The lockfile is resolved on Linux x64 without other platforms' optional builds: npm install, not npm ci.
RUN npm install --no-audit --no-fund
COPY tsconfig.base.json tsconfig.build.json ./
COPY tools/scripts/build.mjs tools/scripts/build.mjs
COPY proto proto
COPY libs libs
COPY apps apps
RUN node tools/scripts/build.mjs

# 2. Production dependencies only.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force

# 3. Runtime: node_modules, the compiled app and libs, the .proto files loaded at run time.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/dist/out-tsc/libs dist/out-tsc/libs
COPY --from=build /app/dist/out-tsc/apps/erp-sync dist/out-tsc/apps/erp-sync
COPY proto proto
COPY docker/healthcheck.js docker/healthcheck.js
COPY package.json package.json
USER node
EXPOSE 9466 9467
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "docker/healthcheck.js", "http", "ERP_SYNC_HTTP_PORT", "9466", "/healthz"]
CMD ["node", "dist/out-tsc/apps/erp-sync/src/main.js"]
