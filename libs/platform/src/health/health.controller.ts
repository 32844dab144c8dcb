import { Controller, Get, Inject, Optional, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { REDIS_PROBE } from '../redis/redis.module';

type CheckResult = 'up' | string;

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Liveness of the service's dependencies. Each probe is bounded so /health answers
 * quickly when a dependency hangs; the pool and ioredis reconnect on their own,
 * so the endpoint recovers without a restart.
 */
@ApiExcludeController()
@Controller()
export class HealthController {
  constructor(
    @Inject(REDIS_PROBE) private readonly redis: Redis,
    @Optional() @Inject(DataSource) private readonly ds?: DataSource,
  ) {}

  @Get('health')
  async health(@Res() reply: FastifyReply) {
    const checks: Record<string, CheckResult> = {};
    const probe = async (name: string, fn: () => Promise<unknown>) => {
      try {
        await withTimeout(fn(), 1500, name);
        checks[name] = 'up';
      } catch (err) {
        checks[name] = `down: ${(err as Error).message}`;
      }
    };
    await Promise.all([
      this.ds ? probe('postgres', () => this.ds!.query('SELECT 1')) : Promise.resolve(),
      probe('redis', () => this.redis.ping()),
    ]);
    const failing = Object.keys(checks).filter((k) => checks[k] !== 'up');
    reply
      .code(failing.length ? 503 : 200)
      .header('cache-control', 'no-store')
      .send({ status: failing.length ? 'unavailable' : 'ok', failing, checks });
  }
}
