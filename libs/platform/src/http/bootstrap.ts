import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { INestApplication, Type } from '@nestjs/common';
import { NestFactory, Reflector } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'pino';
import { BaseConfigSchema, CONFIG, ConfigError, PlatformConfig } from '../config/config';
import { LOGGER, PinoNestLogger, correlation } from '../logging/logger';
import { appEnvironment } from '../platform.module';
import { openRedisConnections } from '../redis/redis';
import { DEFAULT_BODY_LIMIT, applyRouteBodyLimits } from './body-limit';
import { BodyProblemInterceptor, registerJsonBodyParser } from './json-body';
import { createOpenApiDocument } from './openapi';

export interface HttpAppOptions {
  /** Environment to read config from (defaults to process.env); tests pass their own. */
  env?: NodeJS.ProcessEnv;
  /** Title for the OpenAPI document at /docs. */
  title: string;
}

/**
 * Creates a service's Fastify app with JSON logging, request correlation ids, raw bodies
 * (webhook signatures are computed over the exact bytes), per-route body limits (@BodyLimit),
 * a request timeout, OpenAPI at /docs and /docs-json (DOCS_ENABLED), and in tests the OpenAPI
 * contract check of every response (OPENAPI_CONTRACT_CHECK).
 */
export async function createHttpApp(module: Type<unknown>, options: HttpAppOptions): Promise<NestFastifyApplication> {
  // The adapter exists before the config is loaded; an invalid value still fails that load with its message.
  const proxies = BaseConfigSchema.shape.TRUSTED_PROXIES.safeParse((options.env ?? process.env).TRUSTED_PROXIES);
  const trusted = proxies.success
    ? (proxies.data ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
    : [];
  const adapter = new FastifyAdapter({
    bodyLimit: DEFAULT_BODY_LIMIT,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Named proxies, never `true`: trusting every hop makes req.ip the client-chosen leftmost X-Forwarded-For entry.
    trustProxy: trusted.length ? trusted : false,
  });
  // Before any route exists: Nest registers its routes when the app is initialised.
  applyRouteBodyLimits(adapter.getInstance());
  let app: NestFastifyApplication;
  const before = new Set(openRedisConnections);
  try {
    app = await compileApp(module, adapter, options);
  } catch (err) {
    // Nest does not tear down providers of a failed boot: close the connections it opened.
    for (const redis of openRedisConnections) if (!before.has(redis)) redis.disconnect();
    throw err;
  }
  app.useLogger(app.get(PinoNestLogger));
  app.flushLogs();
  registerJsonBodyParser(app);
  app.useGlobalInterceptors(new BodyProblemInterceptor(app.get(Reflector)));
  const logger = app.get<Logger>(LOGGER);
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (req, _reply, done) => {
    correlation.enterWith({ correlationId: String(req.id) });
    done();
  });
  fastify.addHook('onResponse', (req, reply, done) => {
    if (req.url !== '/health' && req.url !== '/metrics') {
      // Channel services poll the internal inbox API every minute: routine, so debug unless it failed.
      const routine = req.url.startsWith('/internal/') && reply.statusCode < 400;
      logger[routine ? 'debug' : 'info'](
        { method: req.method, url: req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
        'request',
      );
    }
    done();
  });
  fastify.addHook('onSend', (req, reply, payload, done) => {
    reply.header('x-request-id', String(req.id));
    done(null, payload);
  });

  const config = app.get<PlatformConfig>(CONFIG);
  // Fastify sets Node's requestTimeout to 0 (none); Node's check for it runs every 30 s unless told otherwise.
  const server = app.getHttpServer() as Server & { connectionsCheckingInterval: number };
  server.requestTimeout = config.HTTP_REQUEST_TIMEOUT_MS;
  server.headersTimeout = Math.min(server.headersTimeout, config.HTTP_REQUEST_TIMEOUT_MS);
  server.connectionsCheckingInterval = Math.min(server.connectionsCheckingInterval, config.HTTP_REQUEST_TIMEOUT_MS);
  const docs = config.DOCS_ENABLED ?? config.NODE_ENV !== 'production';
  if (docs || config.OPENAPI_CONTRACT_CHECK) {
    const document = createOpenApiDocument(app, options.title);
    if (docs) SwaggerModule.setup('docs', app, document);
    if (config.OPENAPI_CONTRACT_CHECK) {
      // Loaded only here: outside tests neither ajv nor the hook exist.
      const { installContractCheck } = await import('./openapi-contract');
      installContractCheck(fastify, document, { service: config.SERVICE_NAME, dir: config.OPENAPI_CONTRACT_DIR });
    }
  }
  app.enableShutdownHooks();
  logger.debug({ service: config.SERVICE_NAME }, 'app created');
  return app;
}

/**
 * main.ts of every service: build, listen on the service's port, and turn a
 * configuration or migration problem into one clear line and exit code 1.
 */
export async function runService(
  module: Type<unknown>,
  options: { title: string; port: (config: PlatformConfig) => number },
): Promise<INestApplication> {
  try {
    const app = await createHttpApp(module, { title: options.title });
    const config = app.get<PlatformConfig>(CONFIG);
    const port = options.port(config);
    await app.listen({ port, host: config.BIND_HOST });
    const bound = app.getHttpServer().address() as AddressInfo;
    const address = `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
    app.get<Logger>(LOGGER).info({ address }, `${config.SERVICE_NAME} listening on ${address}`);
    return app;
  } catch (err) {
    const message =
      err instanceof ConfigError ? err.message : `${options.title} failed to start: ${(err as Error).message}`;
    process.stderr.write(`${message}\n`);
    process.exit(1);
  }
}

let creating = 0;

async function compileApp(
  module: Type<unknown>,
  adapter: FastifyAdapter,
  options: HttpAppOptions,
): Promise<NestFastifyApplication> {
  creating++;
  try {
    return await appEnvironment.run(options.env ?? process.env, () =>
      // A failed boot throws (runService prints one clear line): Nest neither exits the process nor
      // flushes its buffered narration and stack trace to the console; a good boot flushes them to pino.
      NestFactory.create<NestFastifyApplication>(module, adapter, {
        rawBody: true,
        bufferLogs: true,
        abortOnError: false,
        autoFlushLogs: false,
      }),
    );
  } finally {
    // Node 20's AsyncLocalStorage costs a hook on every promise while enabled: off once no app is
    // being created (bench:ingest's profile showed ~3 % of the process in promiseInitHook).
    if (--creating === 0) appEnvironment.disable();
  }
}
