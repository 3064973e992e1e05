# One image for api, worker and simulator; the compose file picks the entry point.
# Stage 1 installs with pnpm from the lockfile; stage 2 is the runtime, without pnpm, as the
# unprivileged `node` user.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN npm install -g pnpm@10
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml tsconfig.base.json ./
COPY apps ./apps
COPY packages ./packages
COPY scripts ./scripts
RUN pnpm install --frozen-lockfile && pnpm --filter @zimage/console build && pnpm store prune

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 DATA_DIR=/data
WORKDIR /app
COPY --from=build --chown=node:node /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080 9464
CMD ["node", "--import", "tsx", "apps/api/src/main.ts"]
