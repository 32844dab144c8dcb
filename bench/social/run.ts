/**
 * npm run bench:social — signed WhatsApp Cloud API webhooks against the built
 * social-service and ticket-service running as separate processes.
 *
 * Phase 1, webhook_p99_ms: open-loop BENCH_WEBHOOK_RATE (500) requests/s for
 * BENCH_SECONDS, each a signed text-message webhook from one of 2,000 customers;
 * latency = intended send time → HTTP 200 (coordinated omission corrected).
 * Phase 2, visible_p99_ms: open-loop BENCH_VISIBLE_RATE (200) messages/s; latency =
 * intended send time → the message row committed on a ticket (seen by a 10 ms poller),
 * i.e. verify → social.raw → worker → inbound → ticket-service ingest.
 * Env: BENCH_SECONDS (15), BENCH_WARMUP_SECONDS (3, unmeasured, at half the rate), BENCH_SKIP_BUILD=1 to reuse dist/.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { SecretBox } from '@oq/platform';
import { signMetaBody } from '../../apps/social-service/src/webhooks/signature';
import { freePort } from '../../test/support/redis-server';
import { machine, openLoop, percentile, prepareStack, printResult, sleep } from '../support/stack';

const WEBHOOK_RATE = Number(process.env.BENCH_WEBHOOK_RATE ?? 500);
const VISIBLE_RATE = Number(process.env.BENCH_VISIBLE_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const CUSTOMERS = 2000;
const PHONE_NUMBER_ID = '106540352242922';

/** Source: WhatsApp Cloud API webhook payload example "Text messages". */
function textWebhook(wamid: string, waId: string, text: string): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
              contacts: [{ profile: { name: `Customer ${waId}` }, wa_id: waId }],
              messages: [
                {
                  from: waId,
                  id: wamid,
                  timestamp: String(Math.floor(Date.now() / 1000)),
                  text: { body: text },
                  type: 'text',
                },
              ],
            },
            field: 'messages',
          },
        ],
      },
    ],
  });
}

/**
 * Keep-alive pool of 128 sockets, like a provider's delivery fleet: without a bound,
 * an overloaded moment opens thousands of sockets and the accept queue overflows.
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

function postJson(url: string, body: string, signature: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-hub-signature-256': signature,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  const stack = await prepareStack('social');
  const inboxId = randomUUID();
  const appSecret = randomBytes(16).toString('hex');
  try {
    const box = new SecretBox(stack.env.SECRETS_KEYS!, stack.env.SECRETS_ACTIVE_KEY!);
    const team = await stack.pool.query(`INSERT INTO teams (name) VALUES ('Social') RETURNING id`);
    await stack.pool.query(
      `INSERT INTO inboxes (id, name, channel, address, default_team_id, secrets) VALUES ($1, 'WhatsApp', 'whatsapp', $2, $3, $4)`,
      [
        inboxId,
        PHONE_NUMBER_ID,
        team.rows[0].id,
        box.encrypt(JSON.stringify({ appSecret, verifyToken: 'bench', accessToken: 'bench-token' }), inboxId),
      ],
    );
    // Free ports, so that another bench running at the same time cannot answer in our place.
    const ticket = await stack.start('ticket-service', {
      DB_POOL_SIZE: '12',
      TICKET_SERVICE_PORT: String(await freePort()),
    });
    const social = await stack.start('social-service', {
      TICKET_SERVICE_URL: ticket.url,
      SOCIAL_SERVICE_PORT: String(await freePort()),
    });
    const url = `${social.url}/webhooks/meta/${inboxId}`;
    const waId = (i: number) => `4915${String(100000000 + (i % CUSTOMERS)).padStart(9, '0')}`;
    const errorKinds = new Map<string, number>();
    const post = async (wamid: string, i: number) => {
      const body = textWebhook(wamid, waId(i), `My transfer ${i} failed, please check`);
      try {
        const status = await postJson(url, body, signMetaBody(body, appSecret));
        if (status !== 200) throw new Error(`status ${status}`);
      } catch (err) {
        const e = err as Error & { cause?: Error };
        const kind = e.cause?.message ?? e.message;
        errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
        throw err;
      }
    };
    // Warm up connections, JIT and the inbox directory: 50 webhooks in 10 parallel lanes, then
    // BENCH_WARMUP_SECONDS at half the rate (a live service is never cold), none of it measured.
    await Promise.all(
      Array.from({ length: 10 }, async (_, lane) => {
        for (let i = lane; i < 50; i += 10) await post(`wamid.warm${i}`, i);
      }),
    );
    const ramp = await openLoop({
      rate: WEBHOOK_RATE / 2,
      durationMs: WARMUP_SECONDS * 1000,
      fire: (i) => post(`wamid.warm-r${i}`, i),
    });

    const webhook = await openLoop({
      rate: WEBHOOK_RATE,
      durationMs: SECONDS * 1000,
      fire: (i) => post(`wamid.p1-${i}`, i),
    });
    // Let phase 1 drain so it does not pollute phase 2.
    const drainUntil = Date.now() + 60_000;
    const expected = webhook.sent + 50 + ramp.sent;
    for (;;) {
      const { rows } = await stack.pool.query(`SELECT count(*)::int AS n FROM messages WHERE inbox_id = $1`, [inboxId]);
      if (rows[0].n >= expected || Date.now() > drainUntil) break;
      await sleep(200);
    }

    const sentAt = new Map<string, number>();
    const seenAt = new Map<string, number>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const { rows } = await stack.pool.query(
          `SELECT external_id FROM messages WHERE inbox_id = $1 AND external_id LIKE 'wamid.p2-%' AND created_at > now() - interval '5 seconds'`,
          [inboxId],
        );
        const now = performance.now();
        for (const r of rows) if (!seenAt.has(r.external_id)) seenAt.set(r.external_id, now);
        await sleep(10);
      }
    })();
    const t0 = performance.now() + 50;
    const visibleRun = await openLoop({
      rate: VISIBLE_RATE,
      durationMs: SECONDS * 1000,
      fire: (i) => {
        sentAt.set(`wamid.p2-${i}`, t0 + (i * 1000) / VISIBLE_RATE);
        return post(`wamid.p2-${i}`, i);
      },
    });
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && seenAt.size < sentAt.size) await sleep(50);
    polling = false;
    await poller;
    const visible = [...sentAt].filter(([id]) => seenAt.has(id)).map(([id, t]) => seenAt.get(id)! - t);
    const counts = await stack.pool.query(
      `SELECT count(*)::int AS messages, count(DISTINCT ticket_id)::int AS tickets FROM messages WHERE inbox_id = $1`,
      [inboxId],
    );
    console.log(
      `machine: ${machine()}; phase 1: ${webhook.sent} webhooks at ${WEBHOOK_RATE}/s, ${webhook.errors} errors; ` +
        `phase 2: ${visibleRun.sent} at ${VISIBLE_RATE}/s, ${visibleRun.errors} errors, ${visible.length} visible; ` +
        `${counts.rows[0].messages} messages on ${counts.rows[0].tickets} tickets; ` +
        `peak RSS social-service ${social.peakRssMb().toFixed(0)} MB, ticket-service ${ticket.peakRssMb().toFixed(0)} MB`,
    );
    if (errorKinds.size) console.log(`errors: ${[...errorKinds].map(([k, n]) => `${n}× ${k}`).join('; ')}`);
    printResult({
      webhook_p99_ms: percentile(webhook.latencies, 99),
      visible_p99_ms: visible.length ? percentile(visible, 99) : 'n/a',
      webhook_p50_ms: percentile(webhook.latencies, 50),
      visible_p50_ms: visible.length ? percentile(visible, 50) : 'n/a',
      errors: webhook.errors + visibleRun.errors,
      visible: `${visible.length}/${sentAt.size}`,
    });
  } finally {
    agent.destroy();
    await stack.stopAll();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
