# syntax=docker/dockerfile:1
# Image of the Console: the operators' web page (React, built by Vite into dist/console-web) and
# its NestJS backend-for-frontend with the JSON /api on 8480; /metrics /healthz /readyz on 9469.
# Build from the repository root:  docker build -f docker/console.Dockerfile -t saldo/console .
# Runs as the unprivileged "node" user; configuration by environment (apps/console/src/config.ts).
ARG NODE_IMAGE=node:22-bookworm-slim

# 1. Compile every app and lib (tsc + tsc-alias) and the single-page app (vite), full dependency tree.
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

# 3. Runtime: node_modules, the compiled app and libs, the built page, the .proto files loaded at run time.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/dist/out-tsc/libs dist/out-tsc/libs
COPY --from=build /app/dist/out-tsc/apps/console dist/out-tsc/apps/console
COPY --from=build /app/dist/console-web dist/console-web
COPY proto proto
COPY docker/healthcheck.js docker/healthcheck.js
COPY package.json package.json
USER node
EXPOSE 9469 8480
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "docker/healthcheck.js", "http", "CONSOLE_HTTP_PORT", "9469", "/healthz"]
CMD ["node", "dist/out-tsc/apps/console/src/main.js"]
