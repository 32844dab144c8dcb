import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { setPriority, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CALL_TRANSCRIPT_MAX_CHARS } from '@oq/contracts';
import {
  createTestDatabase,
  dropQueuePrefix,
  testQueuePrefix,
  testServiceEnv,
  TestDatabase,
} from '@oq/database/testing/test-env';
import { loginToken } from '../../apps/ticket-service/src/auth/auth.testing';
import type { FloodPlan } from '../support/body-flood';
import { ServiceProcess, startServiceProcess } from '../support/service-process';

/**
 * Bodies sent to the routes anyone may call (login, the provider webhooks) cost a service neither
 * memory nor the agents their queue: each route reads at most its own limit (413 before reading
 * when Content-Length says more, as soon as a chunked body passes it), a body sent slowly is cut by
 * HTTP_REQUEST_TIMEOUT_MS, and streamed uploads are capped by their own limits, not the JSON one.
 *
 * ticket-service, social-service and voice-service run as processes of their own (from source,
 * through main.ts as `npm start` runs them), and so does the attacker: RSS is the service's
 * alone and the event loop whose latency is measured is not shared with the load generator.
 */
const ROOT = resolve(__dirname, '..', '..');
const MiB = 1024 * 1024;
const REQUEST_TIMEOUT_MS = 2000;
const MAX_ATTACHMENT_BYTES = 2 * MiB;
const ADMIN = { email: 'admin@onequeue.local', password: 'limits-admin-password' };

/** A JSON object of exactly `bytes` bytes. */
const jsonOf = (bytes: number) => `{"pad":"${'a'.repeat(bytes - 10)}"}`;
const formOf = (bytes: number) => `pad=${'a'.repeat(bytes - 4)}`;

/**
 * Sends the headers and `send` bytes of a body announced as `length` bytes (chunked without one)
 * and waits for the answer without sending the rest: a server that wanted the whole body would
 * never answer.
 */
function postPartial(url: string, contentType: string, send: number, length?: number): Promise<number> {
  return new Promise((answer, fail) => {
    const headers: Record<string, string | number> = { 'content-type': contentType };
    if (length !== undefined) headers['content-length'] = length;
    const req = request(url, { method: 'POST', headers, agent: false });
    const timer = setTimeout(() => fail(new Error(`no answer from ${url} while the body was unfinished`)), 10_000);
    req.once('response', (res) => {
      clearTimeout(timer);
      answer(res.statusCode!);
      res.resume();
      req.destroy();
    });
    req.once('error', (err) => {
      clearTimeout(timer);
      fail(err);
    });
    req.write(Buffer.alloc(send, 'a'));
  });
}

async function post(url: string, contentType: string, body: string): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
  await res.arrayBuffer();
  return res.status;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

describe('body limits under parallel attack (ticket-, social- and voice-service as processes)', () => {
  let db: TestDatabase;
  const prefix = testQueuePrefix();
  const blobDir = mkdtempSync(join(tmpdir(), 'oq-limits-'));
  let ticket: ServiceProcess;
  let social: ServiceProcess;
  let voice: ServiceProcess;
  let token: string;
  let routes: { url: string; contentType: string; limit: number; fits: number; body: (n: number) => string }[];

  beforeAll(async () => {
    db = await createTestDatabase();
    const env = testServiceEnv(db, prefix, {
      LOG_LEVEL: 'info',
      BIND_HOST: '127.0.0.1',
      BLOB_DIR: blobDir,
      ADMIN_PASSWORD: ADMIN.password,
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      MAX_ATTACHMENT_BYTES: String(MAX_ATTACHMENT_BYTES),
      TICKET_SERVICE_PORT: '0',
      SOCIAL_SERVICE_PORT: '0',
      VOICE_SERVICE_PORT: '0',
    });
    ticket = await startServiceProcess('ticket-service', env);
    const channelEnv = { ...env, TICKET_SERVICE_URL: ticket.url };
    [social, voice] = await Promise.all([
      startServiceProcess('social-service', channelEnv),
      startServiceProcess('voice-service', channelEnv),
    ]);
    token = await loginToken(ticket.url, ADMIN.email, ADMIN.password);
    // No such inboxes: a body the route reads reaches the handler, which answers 404.
    const inbox = randomUUID();
    routes = [
      { url: `${ticket.url}/v1/auth/login`, contentType: 'application/json', limit: 4 * 1024, fits: 400, body: jsonOf },
      {
        url: `${social.url}/webhooks/meta/${inbox}`,
        contentType: 'application/json',
        limit: 3 * MiB,
        fits: 404,
        body: jsonOf,
      },
      {
        url: `${social.url}/webhooks/telegram/${inbox}`,
        contentType: 'application/json',
        limit: MiB,
        fits: 404,
        body: jsonOf,
      },
      {
        url: `${voice.url}/webhooks/twilio/${inbox}`,
        contentType: 'application/x-www-form-urlencoded',
        limit: 64 * 1024,
        fits: 404,
        body: formOf,
      },
      {
        url: `${voice.url}/webhooks/pbx/${inbox}`,
        contentType: 'application/json',
        limit: CALL_TRANSCRIPT_MAX_CHARS * 3 + 16 * 1024,
        fits: 404,
        body: jsonOf,
      },
    ];
  }, 240_000);

  afterAll(async () => {
    await Promise.all([ticket?.stop(), social?.stop(), voice?.stop()]);
    await db?.drop();
    await dropQueuePrefix(prefix);
    rmSync(blobDir, { recursive: true, force: true });
  });

  it('reads a body up to the route limit and refuses one byte more with 413 before reading it', async () => {
    for (const r of routes) {
      expect({ url: r.url, status: await post(r.url, r.contentType, r.body(r.limit)) }).toEqual({
        url: r.url,
        status: r.fits,
      });
      // 29 MB announced, 1 KB sent: the answer comes from the Content-Length alone.
      expect({ url: r.url, status: await postPartial(r.url, r.contentType, 1024, 29 * MiB) }).toEqual({
        url: r.url,
        status: 413,
      });
      expect(await post(r.url, r.contentType, r.body(r.limit + 1))).toBe(413);
    }
  });

  it('refuses a chunked body as soon as it passes the limit, without waiting for its end', async () => {
    for (const r of routes) {
      expect({ url: r.url, status: await postPartial(r.url, r.contentType, r.limit + 1) }).toEqual({
        url: r.url,
        status: 413,
      });
    }
  });

  it('takes agent JSON up to 1 MiB by default, a new ticket up to 4 MiB', async () => {
    // node:http rather than fetch: the server answers 413 from Content-Length and closes while the
    // client is still writing, and fetch then reports the write's EPIPE instead of the answer it got.
    const authed = (path: string, method: string, body: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${ticket.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', (err) => setTimeout(() => reject(err), 500));
        req.end(body);
      });
    expect(await authed('/v1/agents/me/presence', 'PUT', jsonOf(MiB))).toBe(400);
    expect(await authed('/v1/agents/me/presence', 'PUT', jsonOf(MiB + 1))).toBe(413);
    expect(await authed('/v1/tickets', 'POST', jsonOf(4 * MiB))).toBe(400);
    expect(await authed('/v1/tickets', 'POST', jsonOf(4 * MiB + 1))).toBe(413);
  });

  it('streams uploads past the JSON limit and caps them at MAX_ATTACHMENT_BYTES', async () => {
    const upload = async (bytes: number) => {
      const form = new FormData();
      form.append('file', new Blob([Buffer.alloc(bytes, 'u')]), 'big.bin');
      const res = await fetch(`${ticket.url}/v1/attachments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: form,
      });
      return { status: res.status, body: await res.json() };
    };
    expect(await upload(MAX_ATTACHMENT_BYTES)).toMatchObject({ status: 201, body: { size: MAX_ATTACHMENT_BYTES } });
    expect((await upload(MAX_ATTACHMENT_BYTES + 1)).status).toBe(413);
  });

  it('cuts a body sent too slowly after HTTP_REQUEST_TIMEOUT_MS with 408', async () => {
    const [host, port] = ticket.address.split(':');
    const socket = connect(Number(port), host);
    await once(socket, 'connect');
    const started = performance.now();
    socket.write(
      'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email"',
    );
    let received = '';
    socket.on('data', (d) => (received += d));
    await once(socket, 'close');
    const ms = performance.now() - started;
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    // Node looks for expired requests once per timeout: at most two timeouts in all.
    expect(ms).toBeLessThan(2 * REQUEST_TIMEOUT_MS + 1000);
  });

  it("keeps RSS and the agents' GET /v1/queue steady under 32 parallel 29 MB bodies to login and webhooks", async () => {
    const queue = async () => {
      const started = performance.now();
      const res = await fetch(`${ticket.url}/v1/queue`, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET /v1/queue answered ${res.status}`);
      return performance.now() - started;
    };
    const sample = async (into: number[], n: number) => {
      for (let i = 0; i < n; i++) into.push(await queue());
    };
    const [login, meta, telegram, twilio, pbx] = routes;
    const plan: FloodPlan = {
      // Half the lanes on login, the other half on the four webhook routes.
      targets: [login, meta, login, telegram, login, twilio, login, pbx].map(({ url, contentType }) => ({
        url,
        contentType,
      })),
      lanes: 32,
      bytes: 29 * 1000 * 1000,
    };
    const flood: ChildProcess = spawn(
      process.execPath,
      [join(ROOT, 'scripts/run-ts.cjs'), join(ROOT, 'test/support/body-flood.ts'), JSON.stringify(plan)],
      { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    // The attacker is on another machine in life; here it shares the cores, so it yields them.
    setPriority(flood.pid!, 19);
    const reply = async <T>(command?: string): Promise<T> => {
      const answer = once(flood, 'message');
      if (command) flood.send(command);
      return ((await answer) as [T])[0];
    };
    const services = { ticket, social, voice };
    const rss = () => Object.fromEntries(Object.entries(services).map(([k, p]) => [k, p.rssMb()]));
    const cpu = () => Object.fromEntries(Object.entries(services).map(([k, p]) => [k, p.cpuSeconds()]));
    /** ticket-service's own event-loop delay p99 (ms) since the last scrape (prom-client resets it). */
    const loopLag = async () =>
      1000 * Number(/_lag_p99_seconds\{[^}]*\} (\S+)/.exec(await (await fetch(`${ticket.url}/metrics`)).text())?.[1]);
    const idle: number[] = [];
    const loaded: number[] = [];
    const lag = { idle: 0, flood: 0 };
    const cpuUsed: Record<string, number> = { ticket: 0, social: 0, voice: 0 };
    let floodMs = 0;
    let before: Record<string, number> = {};
    let peak: Record<string, number> = {};
    let answers: Record<string, number> = {};
    let sampler: NodeJS.Timeout | undefined;
    try {
      await reply(); // started, lanes paused
      await sample([], 100); // JIT, pooled connections
      before = rss();
      peak = { ...before };
      sampler = setInterval(() => {
        for (const [k, mb] of Object.entries(rss())) peak[k] = Math.max(peak[k], mb);
      }, 20);
      // Not timed (its RSS counts): the refusal path's first runs compile it.
      await reply('flood');
      await sample([], 50);
      await reply('pause');
      // Idle and flooded windows take turns, so whatever else the machine runs weighs on both alike.
      for (let round = 0; round < 3; round++) {
        await loopLag();
        await sample(idle, 150);
        lag.idle = Math.max(lag.idle, await loopLag());
        const started = { cpu: cpu(), at: performance.now() };
        await reply('flood'); // every lane has had an answer
        await sample(loaded, 150);
        await reply('pause');
        lag.flood = Math.max(lag.flood, await loopLag());
        floodMs += performance.now() - started.at;
        for (const [k, s] of Object.entries(cpu())) cpuUsed[k] += s - started.cpu[k];
      }
      ({ answers } = await reply<{ answers: Record<string, number> }>('stop'));
    } finally {
      clearInterval(sampler);
      flood.kill();
    }

    const round1 = (o: Record<string, number>) =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 10) / 10]));
    const growth = round1(Object.fromEntries(Object.keys(services).map((k) => [k, peak[k] - before[k]])));
    const p50 = round1({ idle: percentile(idle, 50), flood: percentile(loaded, 50) });
    const p99 = round1({ idle: percentile(idle, 99), flood: percentile(loaded, 99) });
    const cores = Object.fromEntries(Object.entries(cpuUsed).map(([k, s]) => [k, +((s * 1000) / floodMs).toFixed(2)]));
    console.log(
      'body flood',
      JSON.stringify({
        answers,
        rssBeforeMb: round1(before),
        rssGrowthMb: growth,
        queueP50Ms: p50,
        queueP99Ms: p99,
        loopLagP99Ms: round1(lag),
        coresUsedWhileFlooded: cores,
      }),
    );
    // Every body refused: 413, or a reset when the connection closed under a client still sending.
    expect(Object.keys(answers)).toContain('413');
    expect(Object.keys(answers).filter((k) => k !== '413' && k !== 'reset')).toEqual([]);
    expect(Object.entries(growth).filter(([, mb]) => mb > 50)).toEqual([]);
    // A body blocking an event loop delays most requests: the median holds to 2x (1.1-1.6x measured;
    // before the limits this flood took it from 2.3 ms to 828 ms).
    expect(p50.flood).toBeLessThanOrEqual(2 * p50.idle);
    // The tail gets a floor. Refusing ~500 connections a second takes the three services half a core,
    // on the same two cores as Postgres, this test and whatever else the machine runs: a few requests
    // in a hundred wait 30-90 ms for a core while ticket-service's loop lag p99 stays under 40 ms
    // (p99 2-6x idle measured). Before the limits p99 went from 7.5 to 2074 ms, loop lag to 605 ms.
    expect(p99.flood).toBeLessThanOrEqual(Math.max(2 * p99.idle, p99.idle + 150));
  }, 180_000);
});
