import { once } from 'node:events';
import { createServer, connect, AddressInfo } from 'node:net';
import {
  createTestDatabase,
  dropQueuePrefix,
  testQueuePrefix,
  testServiceEnv,
  TestDatabase,
} from '@oq/database/testing/test-env';
import { BaseConfigSchema, ConfigError, createHttpApp, loadConfig } from '@oq/platform';
import { AppModule as SlaWorker } from '../../apps/sla-worker/src/app.module';
import { ServiceProcess, startServiceProcess } from '../support/service-process';

/**
 * What a service exposes and to whom: the address it binds (BIND_HOST, loopback unless told),
 * /metrics behind METRICS_TOKEN, /docs behind DOCS_ENABLED. The services run as processes
 * through main.ts, where the address is chosen and logged.
 */
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

/** Whether a TCP connection to host:port is accepted. */
async function accepts(host: string, port: number): Promise<boolean> {
  const socket = connect(port, host);
  try {
    await once(socket, 'connect');
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') return false;
    throw err;
  } finally {
    socket.destroy();
  }
}

describe('what a service exposes (BIND_HOST, METRICS_TOKEN, DOCS_ENABLED)', () => {
  let db: TestDatabase;
  const prefix = testQueuePrefix();
  /** Defaults, except /metrics with a token and /docs switched off. */
  let guarded: ServiceProcess;
  /** As docker-compose runs it: every address, NODE_ENV=production, nothing else set. */
  let container: ServiceProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    const env = testServiceEnv(db, prefix, { LOG_LEVEL: 'info', SLA_WORKER_PORT: '0' });
    [guarded, container] = await Promise.all([
      startServiceProcess('sla-worker', { ...env, METRICS_TOKEN, DOCS_ENABLED: 'false' }),
      startServiceProcess('sla-worker', { ...env, BIND_HOST: '0.0.0.0', NODE_ENV: 'production' }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([guarded?.stop(), container?.stop()]);
    await db?.drop();
    await dropQueuePrefix(prefix);
  });

  it('listens on 127.0.0.1 only unless BIND_HOST says otherwise, and logs the bound address', async () => {
    // On Linux all of 127/8 is loopback: a socket bound to every address answers 127.0.0.2 too.
    const control = createServer().listen(0, '0.0.0.0');
    await once(control, 'listening');
    expect(await accepts('127.0.0.2', (control.address() as AddressInfo).port)).toBe(true);
    control.close();

    expect(guarded.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const port = Number(guarded.address.split(':')[1]);
    expect(await accepts('127.0.0.1', port)).toBe(true);
    expect(await accepts('127.0.0.2', port)).toBe(false);

    expect(container.address).toMatch(/^0\.0\.0\.0:\d+$/);
    const containerPort = Number(container.address.split(':')[1]);
    expect(await accepts('127.0.0.2', containerPort)).toBe(true);
    expect((await fetch(`http://127.0.0.2:${containerPort}/health`)).status).toBe(200);
  });

  it('answers /metrics only with the bearer METRICS_TOKEN when one is set', async () => {
    const scrape = (authorization?: string) =>
      fetch(`${guarded.url}/metrics`, { headers: authorization ? { authorization } : {} });
    const anonymous = await scrape();
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await anonymous.text()).not.toContain('oq_');
    expect((await scrape(`Bearer ${METRICS_TOKEN}x`)).status).toBe(401);
    expect((await scrape(`Basic ${METRICS_TOKEN}`)).status).toBe(401);

    const allowed = await scrape(`Bearer ${METRICS_TOKEN}`);
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toContain('oq_process_resident_memory_bytes');
    // Without a token it stays open, as Prometheus scrapes by default.
    expect((await fetch(`${container.url}/metrics`)).status).toBe(200);
  });

  it('serves /docs unless DOCS_ENABLED=false, and not in production unless DOCS_ENABLED=true', async () => {
    expect((await fetch(`${guarded.url}/docs`)).status).toBe(404);
    expect((await fetch(`${guarded.url}/docs-json`)).status).toBe(404);
    expect((await fetch(`${container.url}/docs`)).status).toBe(404);
    const app = await createHttpApp(SlaWorker, {
      title: 'sla-worker',
      env: testServiceEnv(db, prefix, { NODE_ENV: 'production', DOCS_ENABLED: 'true' }),
    });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      expect((await fetch(`${await app.getUrl()}/docs`)).status).toBe(200);
    } finally {
      await app.close();
    }
    // test/foundation/services.spec.ts sees /docs served by every service in NODE_ENV=test.
  });

  it('refuses to boot with a BIND_HOST that is not an IP address or a short METRICS_TOKEN', () => {
    const env = { SERVICE_TOKEN: 'x'.repeat(24), BIND_HOST: 'localhost', METRICS_TOKEN: 'short' };
    const err = (() => {
      try {
        loadConfig('svc', BaseConfigSchema, env);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.message).toMatch(/BIND_HOST: must be an IP address/);
    expect(err?.message).toMatch(/METRICS_TOKEN: must be at least 16 characters/);
    expect(loadConfig('svc', BaseConfigSchema, { SERVICE_TOKEN: 'x'.repeat(24) })).toMatchObject({
      BIND_HOST: '127.0.0.1',
      HTTP_REQUEST_TIMEOUT_MS: 120_000,
    });
  });
});
