# One multi-stage image for all six services; compose picks the entry point.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json .swcrc nest-cli.json ./
COPY scripts ./scripts
COPY apps ./apps
COPY libs ./libs
RUN bash scripts/build.sh && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
# Inside a container the services must listen on every interface (npm start binds loopback).
ENV BIND_HOST=0.0.0.0
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The blob store's volume mounts here: Docker copies the image's ownership into a new named volume,
# so the directory must exist and belong to `node`, or every attachment, media and mail-source write fails.
RUN mkdir -p /var/lib/onequeue/blobs && chown node:node /var/lib/onequeue/blobs
USER node
# SERVICE is set per container: ticket-service, sla-worker, email-service, social-service, voice-service, chat-service.
# `migrate` runs the migrations (the one-shot service in compose).
CMD ["sh", "-c", "if [ \"$SERVICE\" = migrate ]; then exec node dist/libs/database/src/cli/migrate.js; else exec node --enable-source-maps dist/apps/$SERVICE/src/main.js; fi"]
