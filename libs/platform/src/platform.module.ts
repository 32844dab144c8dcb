import { AsyncLocalStorage } from 'node:async_hooks';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { z } from 'zod';
import { BlobStore } from './blob-store/blob-store';
import { CONFIG, PlatformConfig, loadConfig } from './config/config';
import { HealthController, HealthDetails } from './health/health.controller';
import type { Logger as PinoLogger } from 'pino';
import { LOGGER, PinoNestLogger, createLogger } from './logging/logger';
import { MetricsController, MetricsService } from './metrics/metrics';
import { RedisModule } from './redis/redis.module';
import { ServiceTokenGuard } from './auth/service-token.guard';

/** The process environment a service reads; tests pass their own to boot several instances in one process. */
export const ENV = Symbol('ENV');

/**
 * The environment of the app being created (createHttpApp's `env`), seen by the ENV provider while
 * Nest resolves providers inside `appEnvironment.run(env, create)`: several apps with different
 * environments can be created in one process, concurrently, without a testing compiler.
 */
export const appEnvironment = new AsyncLocalStorage<NodeJS.ProcessEnv>();

export interface PlatformOptions {
  service: string;
  schema: z.ZodObject;
}

/**
 * Config, logging, Redis, health, metrics and the blob store for one service.
 * Config is validated exactly once, here; everything else injects the typed CONFIG.
 */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(options: PlatformOptions): DynamicModule {
    return {
      module: PlatformModule,
      imports: [RedisModule],
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: ENV, useFactory: (): NodeJS.ProcessEnv => appEnvironment.getStore() ?? process.env },
        {
          provide: CONFIG,
          inject: [ENV],
          useFactory: (env: NodeJS.ProcessEnv): PlatformConfig => ({
            ...(loadConfig(options.service, options.schema, env) as object as PlatformConfig),
            SERVICE_NAME: options.service,
          }),
        },
        {
          provide: LOGGER,
          inject: [CONFIG],
          useFactory: (config: PlatformConfig) => createLogger(config.SERVICE_NAME, config.LOG_LEVEL),
        },
        { provide: PinoNestLogger, inject: [LOGGER], useFactory: (logger: PinoLogger) => new PinoNestLogger(logger) },
        {
          provide: BlobStore,
          inject: [CONFIG],
          useFactory: (config: PlatformConfig) => new BlobStore(config.BLOB_DIR),
        },
        MetricsService,
        HealthDetails,
        ServiceTokenGuard,
      ],
      exports: [
        CONFIG,
        LOGGER,
        PinoNestLogger,
        BlobStore,
        MetricsService,
        HealthDetails,
        ServiceTokenGuard,
        RedisModule,
      ],
    };
  }
}
