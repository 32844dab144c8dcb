import { Controller, Get, Inject, Injectable, Optional, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Redis } from 'ioredis';
import { ping } from '@oq/database/sql/db';
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
 * What parts of a service (the inbox directory) add to /health: sections that do not make the
 * service unhealthy (what operators should see, e.g. inboxes it refuses), and checks beside
 * Postgres and Redis that do (a probe that throws is `down: <message>`, 503).
 */
@Injectable()
export class HealthDetails {
  private readonly sections = new Map<string, () => unknown>();
  readonly checks = new Map<string, () => unknown>();

  add(name: string, read: () => unknown): void {
    this.sections.set(name, read);
  }

  require(name: string, probe: () => unknown): void {
    this.checks.set(name, probe);
  }

  read(): Record<string, unknown> {
    return Object.fromEntries([...this.sections].map(([name, read]) => [name, read()]));
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
    private readonly details: HealthDetails,
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
      this.ds ? probe('postgres', () => ping(this.ds!)) : Promise.resolve(),
      probe('redis', () => this.redis.ping()),
      ...[...this.details.checks].map(([name, check]) => probe(name, async () => check())),
    ]);
    const failing = Object.keys(checks).filter((k) => checks[k] !== 'up');
    reply
      .code(failing.length ? 503 : 200)
      .header('cache-control', 'no-store')
      .send({ status: failing.length ? 'unavailable' : 'ok', failing, checks, ...this.details.read() });
  }
}
