import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import * as pg from 'pg';
import { ADMIN_URL, databaseUrl, templateName } from './template';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh database cloned from the migrated template, private to one test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `oq_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${templateName()}`);
        break;
      } catch (err) {
        // Two workers cloning at the same instant: "source database is being accessed by other users".
        if (attempt >= 20 || !/being accessed/.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
  } finally {
    await admin.end();
  }
  return {
    name,
    url: databaseUrl(name),
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A BullMQ prefix private to one test file (hash-tagged like production). */
export function testQueuePrefix(): string {
  return `{oqt${process.pid}${randomBytes(3).toString('hex')}}`;
}

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';

/** Deletes every key under a test prefix. */
export async function dropQueuePrefix(prefix: string, redisUrl = TEST_REDIS_URL): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Environment for booting a service against the test file's own database and prefix. */
export function testServiceEnv(
  db: TestDatabase,
  prefix: string,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL || 'silent',
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    SERVICE_TOKEN: 'test-service-token-0123456789abcdef',
    JWT_SECRET: 'test-jwt-secret-0123456789abcdefghij',
    SECRETS_KEYS: 'test1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
    SECRETS_ACTIVE_KEY: 'test1',
    EMAIL_THREADING_SECRET: 'test-threading-secret-0123456789abc',
    // A fixed admin password keeps every boot from generating and printing one.
    ADMIN_PASSWORD: 'test-admin-password',
    // Every response is checked against the service's OpenAPI document (libs/platform openapi-contract.ts);
    // the run's directory (global-setup.ts) collects what child processes and workers find.
    OPENAPI_CONTRACT_CHECK: 'true',
    OPENAPI_CONTRACT_DIR: process.env.OPENAPI_CONTRACT_DIR ?? '',
    ...extra,
  };
}
