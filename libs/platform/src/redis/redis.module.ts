import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { Logger } from 'pino';
import { PlatformConfig, CONFIG } from '../config/config';
import { LOGGER } from '../logging/logger';
import { checkRedisDurability, createProbeRedis, createRedis } from './redis';

export const REDIS = Symbol('REDIS');
export const REDIS_PROBE = Symbol('REDIS_PROBE');

class RedisLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_PROBE) private readonly probe: Redis,
  ) {}
  async onApplicationShutdown() {
    await Promise.allSettled([this.redis.quit(), this.probe.quit()]);
  }
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [CONFIG, LOGGER],
      useFactory: async (config: PlatformConfig, logger: Logger) => {
        const redis = createRedis(config.REDIS_URL, config.SERVICE_NAME);
        redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
        await checkRedisDurability(redis, logger);
        return redis;
      },
    },
    {
      provide: REDIS_PROBE,
      inject: [CONFIG],
      useFactory: (config: PlatformConfig) => {
        const probe = createProbeRedis(config.REDIS_URL, config.SERVICE_NAME);
        probe.on('error', () => undefined); // reported through /health
        return probe;
      },
    },
    RedisLifecycle,
  ],
  exports: [REDIS, REDIS_PROBE],
})
export class RedisModule {}
