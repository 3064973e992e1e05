# One image for api, worker and simulator; the compose file picks the entry point.
# Stage 1 installs the workspace from the lockfile (dev dependencies included: tsx, esbuild, turbo,
# vite) and runs `pnpm build:production /app`: every app built to dist/ and deployed with its
# production dependencies only (scripts/build/production-tree.ts). Stage 2 is the runtime: Node and
# that tree, no pnpm, no tsx, no TypeScript sources; the code belongs to root and is read-only for
# the unprivileged `node` user that runs it, which can write /data only.
FROM node:24-bookworm-slim AS build
WORKDIR /src
RUN npm install -g pnpm@10
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml tsconfig.base.json turbo.json ./
COPY apps ./apps
COPY packages ./packages
COPY scripts ./scripts
RUN pnpm install --frozen-lockfile && pnpm build:production /app

FROM node:24-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 DATA_DIR=/data
WORKDIR /app
COPY --from=build /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080 9464
# `node apps/worker/dist/main.js`, `node apps/zimage-sim/dist/main.js`, and for keys
# `node apps/api/dist/keys-cli.js create ...` run from the same image.
CMD ["node", "apps/api/dist/main.js"]
