# syntax=docker/dockerfile:1
# The stack's two images, from the repository root:
#   docker build --target collector -t twc-dashboard/collector .
#   docker build --target api -t twc-dashboard/api .
# collector: the collector, the comed-poller (another command), the charger
# simulator and the `twc` tool. api: REST, WebSocket, exports, reports, the
# status page, and the Home Assistant bridge (another command). Both share
# the install and the build of the core and runtime packages; neither carries
# the other's code. No step depends on the build machine's architecture, so
# the same file builds linux/amd64 and linux/arm64 (a Raspberry Pi 4 or 5
# running 64-bit).
ARG NODE_IMAGE=node:24.11.1-bookworm-slim

FROM ${NODE_IMAGE} AS workspace
# Corepack installs the pnpm release that package.json's packageManager pins.
ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0 CI=true npm_config_store_dir=/pnpm/store
RUN corepack enable
WORKDIR /src
# Every workspace manifest: pnpm checks the lockfile against all of them.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
COPY core/package.json core/
COPY runtime/package.json runtime/
COPY collector/package.json collector/
COPY api/package.json api/
COPY testenv/package.json testenv/
COPY local-stack/package.json local-stack/
COPY tests/package.json tests/
COPY e2e/package.json e2e/
COPY bench/package.json bench/
RUN --mount=type=cache,id=twc-pnpm-store,target=/pnpm/store pnpm install --frozen-lockfile
COPY tsconfig.base.json ./
COPY core/ core/
COPY runtime/ runtime/
RUN pnpm --filter @twc/core --filter @twc/runtime run build

FROM workspace AS build-collector
COPY collector/ collector/
RUN pnpm --filter @twc/collector run build
# pnpm 10 deploys a workspace that does not inject its workspace packages only
# with --legacy; --prod leaves the test tooling out.
RUN --mount=type=cache,id=twc-pnpm-store,target=/pnpm/store pnpm --filter @twc/collector deploy --prod --legacy deploy/collector

FROM workspace AS build-api
COPY api/ api/
RUN pnpm --filter @twc/api run build
RUN --mount=type=cache,id=twc-pnpm-store,target=/pnpm/store pnpm --filter @twc/api deploy --prod --legacy deploy/api

FROM ${NODE_IMAGE} AS collector
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build-collector --chown=node:node /src/deploy/collector ./
# The spool and the poller's backfill progress live in a volume mounted here;
# a fresh named volume takes this directory's owner, so the node user can write.
RUN mkdir -p /var/lib/twc && chown node:node /var/lib/twc
USER node
VOLUME ["/var/lib/twc"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.HEALTH_PORT || 8081) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# Every command of this image runs under node with V8 set for a small process
# that runs for years rather than for peak speed (docs/PERFORMANCE.md, "Where
# the memory goes", has the measurements): a 1 MiB young generation and V8's
# memory-saving heuristics; WebAssembly (undici's HTTP parser) kept on its
# baseline compiler, whose optimizing tier-up took some 40 MiB for a moment at
# start-up; JavaScript interpreted only, and one V8 helper thread. At a few
# polls a second the interpreter costs no measurable CPU, and the compilers'
# code and working memory stay out of the process. Compose and the Helm chart
# pass only the script and its arguments, e.g. `dist/cli/main.js probe <host>`.
ENTRYPOINT ["node", "--max-semi-space-size=1", "--optimize-for-size", "--liftoff-only", "--no-opt", "--no-maglev", "--no-sparkplug", "--v8-pool-size=1"]
CMD ["dist/collector/main.js"]

FROM ${NODE_IMAGE} AS api
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build-api --chown=node:node /src/deploy/api ./
# Reports are written to a volume mounted here (REPORTS_DIR); a fresh named
# volume takes this directory's owner, so the node user can write.
RUN mkdir -p /var/lib/twc && chown node:node /var/lib/twc
USER node
VOLUME ["/var/lib/twc"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.API_PORT || 8000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "dist/server.js"]
