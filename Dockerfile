# One multi-stage image for all six services; compose picks the entry point. `runtime` (the last
# stage, so a plain `docker build .` is still it) is the production image; `demo` holds demo mode's
# stand-ins for `docker compose --profile demo` and is never part of it.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY tsconfig.json .swcrc nest-cli.json ./
COPY scripts ./scripts
COPY apps ./apps
COPY libs ./libs
RUN bash scripts/build.sh && npm prune --omit=dev

# Demo mode's stand-ins (demo/run.ts): Dovecot for the demo mailbox, the SMTP catcher and the fake
# Graph / Bot APIs, run from source by scripts/run-ts.cjs. SWC, smtp-server and postal-mime are
# devDependencies, hence the unpruned node_modules; libs/ and apps/ because demo/ imports their
# sources (@oq/contracts, the providers' signature helpers demo:traffic signs with).
FROM node:20-bookworm-slim AS demo
RUN apt-get update && apt-get install -y --no-install-recommends dovecot-imapd && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json .swcrc tsconfig.json ./
COPY scripts/run-ts.cjs scripts/ts-register.cjs ./scripts/
COPY libs ./libs
COPY apps ./apps
COPY demo ./demo
# Root on purpose: Dovecot starts as root and reads mail as its `dovecot` user; demo/mail/dovecot.ts
# then keeps its files under /var/lib/onequeue-demo (compose mounts a volume there).
ENV BIND_HOST=0.0.0.0
ENV DEMO_DIR=/var/lib/onequeue-demo
EXPOSE 1143 2525 3008 3009
CMD ["node", "scripts/run-ts.cjs", "demo/run.ts"]

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
