# syntax=docker/dockerfile:1
# Image of the transaction-aggregator: public gRPC TransactionService (50051), the same over HTTP (Connect
# JSON, gRPC-Web and gRPC on 8080), the Pub/Sub intake, /metrics /healthz /readyz (9465).
# Build from the repository root:  docker build -f docker/transaction-aggregator.Dockerfile -t saldo/transaction-aggregator .
# Runs as the unprivileged "node" user; configuration by environment (apps/transaction-aggregator/src/config.ts).
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
COPY --from=build /app/dist/out-tsc/apps/transaction-aggregator dist/out-tsc/apps/transaction-aggregator
COPY proto proto
COPY docker/healthcheck.js docker/healthcheck.js
COPY package.json package.json
USER node
EXPOSE 50051 9465 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "docker/healthcheck.js", "grpc", "AGGREGATOR_GRPC_URL", "0.0.0.0:50051", "saldo.transaction.v1.TransactionService"]
CMD ["node", "dist/out-tsc/apps/transaction-aggregator/src/main.js"]
