/**
 * npm run bench:ingest — InboundMessages into persisted tickets/messages through the
 * BUILT ticket-service running as a separate process (outbox relay running).
 *
 * In one run:
 *  - bullmq_ceiling: raw BullMQ, addBulk of ingest-sized payloads then a no-op worker (jobs/s processed);
 *  - pg_ceiling: ingest-shaped transactions (identity upsert, ticket select + insert, message insert,
 *    outbox insert; one message per transaction, synchronous commit) from 16 clients (tx/s);
 *  - ingest_msgs_per_s: a pre-filled `inbound` queue of BENCH_MESSAGES (100,000) mixed-channel
 *    messages (email with threading, WhatsApp with linked phones, Telegram, Messenger, chat, call logs),
 *    drained by ticket-service: messages persisted / wall time from first to last;
 *  - visible_p99_ms: open-loop 200 msg/s for BENCH_VISIBLE_SECONDS (20): intended enqueue time → the
 *    message row committed on its ticket, seen by a 5 ms SQL poller (coordinated omission corrected);
 *  - rss_mb: peak RSS of the ticket-service process.
 * Env: BENCH_MESSAGES, BENCH_VISIBLE_SECONDS, BENCH_VISIBLE_RATE, BENCH_SKIP_BUILD=1, INGEST_* / DB_POOL_SIZE passthrough.
 */
import { randomBytes } from 'node:crypto';
import {
  buildJob,
  DEFAULT_QUEUE_PREFIX,
  INBOUND_MESSAGE_VERSION,
  inboundJobId,
  InboundMessageInput,
  JobName,
  jobOptions,
  QueueName,
} from '@oq/contracts';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import * as pg from 'pg';
import { freePort } from '../../test/support/redis-server';
import { BenchStack, machine, percentile, prepareStack, printResult, sleep } from '../support/stack';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const VISIBLE_RATE = Number(process.env.BENCH_VISIBLE_RATE ?? 200);
const VISIBLE_SECONDS = Number(process.env.BENCH_VISIBLE_SECONDS ?? 20);
const SENDERS = Math.max(100, Math.floor(MESSAGES / 5));
const CHANNELS = ['email', 'whatsapp', 'telegram', 'messenger', 'chat', 'voice'] as const;
type Channel = (typeof CHANNELS)[number];
// Mix by share of traffic: messaging apps and email dominate, calls are fewer.
const MIX: Channel[] = [
  'email',
  'email',
  'whatsapp',
  'whatsapp',
  'whatsapp',
  'telegram',
  'messenger',
  'chat',
  'chat',
  'voice',
];

const TEXT =
  'Hello, my transfer of 120.50 EUR to my landlord failed yesterday evening but the amount was still ' +
  'debited from my wallet balance. The app showed error code TX-4402. Could you please check what happened ' +
  'and refund the money or complete the transfer? I attached the screenshot of the transaction history. ' +
  'My card 4111 1111 1111 1111 was not used for this. Thanks in advance, best regards.';

function senderFor(channel: Channel, n: number): InboundMessageInput['sender'] {
  const phone = `+49151${String(1_000_000 + n).padStart(7, '0')}`;
  switch (channel) {
    case 'email':
      return { kind: 'email', value: `customer${n}@example.com`, displayName: `Customer ${n}` };
    case 'whatsapp':
      return { kind: 'whatsapp', value: phone.slice(1), linked: [{ kind: 'phone', value: phone }] };
    case 'telegram':
      return { kind: 'telegram', value: String(500_000_000 + n) };
    case 'messenger':
      return { kind: 'messenger', value: `psid-${n}` };
    case 'chat':
      return { kind: 'app_user', value: `user-${n}` };
    case 'voice':
      return { kind: 'phone', value: phone };
  }
}

class MessageFactory {
  private seq = 0;
  /** Last email Message-ID per sender, so follow-ups thread by In-Reply-To. */
  private readonly lastMail = new Map<number, string>();
  constructor(
    private readonly inboxes: Record<Channel, string>,
    private readonly tag: string,
  ) {}

  next(channel: Channel, sender: number): InboundMessageInput {
    const i = this.seq++;
    const now = new Date().toISOString();
    const base = {
      v: INBOUND_MESSAGE_VERSION,
      inboxId: this.inboxes[channel],
      channel,
      externalId: `${this.tag}-${channel}-${i}`,
      sourceTime: now,
      receivedAt: now,
      sender: senderFor(channel, sender),
      text: TEXT.slice(0, 200 + (i % 200)),
    };
    if (channel === 'email') {
      const messageId = `<${this.tag}-${i}@example.com>`;
      const prev = this.lastMail.get(sender);
      this.lastMail.set(sender, messageId);
      return {
        ...base,
        subject: prev ? 'Re: Transfer failed' : 'Transfer failed',
        html: `<p>${base.text}</p>`,
        email: { messageId, inReplyTo: prev ? [prev] : [], references: prev ? [prev] : [] },
      };
    }
    if (channel === 'voice') {
      const started = new Date(Date.now() - 90_000).toISOString();
      const missed = i % 4 === 0;
      return {
        ...base,
        kind: 'call_log',
        text: '',
        call: {
          callId: base.externalId,
          direction: 'inbound',
          from: (base.sender as { value: string }).value,
          to: '+4930999000',
          disposition: missed ? 'missed' : 'answered',
          startedAt: started,
          endedAt: now,
          durationSec: missed ? 0 : 84,
        },
      };
    }
    return base;
  }
}

async function seedInboxes(stack: BenchStack): Promise<Record<Channel, string>> {
  const team = await stack.pool.query(`INSERT INTO teams (name) VALUES ('Payments') RETURNING id`);
  const out = {} as Record<Channel, string>;
  for (const c of CHANNELS) {
    const r = await stack.pool.query(
      `INSERT INTO inboxes (name, channel, address, default_team_id) VALUES ($1, $1, $2, $3) RETURNING id`,
      [c, `${c}-bench-${randomBytes(3).toString('hex')}`, team.rows[0].id],
    );
    out[c] = r.rows[0].id;
  }
  return out;
}

/** Raw BullMQ: how fast Redis takes and hands out jobs of this size, with no work done. */
async function bullmqCeiling(
  stack: BenchStack,
  inboxes: Record<Channel, string>,
): Promise<{ add: number; work: number }> {
  const N = 30_000;
  const connection = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('bench-ceiling', { connection, prefix: stack.prefix });
  const f = new MessageFactory(inboxes, 'ceiling');
  const jobs = Array.from({ length: N }, (_, i) => {
    const data = buildJob(JobName.InboundMessage, f.next(MIX[i % MIX.length], i % SENDERS));
    return { name: JobName.InboundMessage, data, opts: jobOptions(JobName.InboundMessage, { jobId: `c${i}` }) };
  });
  let t = performance.now();
  for (let i = 0; i < N; i += 1000) await queue.addBulk(jobs.slice(i, i + 1000));
  const add = N / ((performance.now() - t) / 1000);
  let done = 0;
  t = performance.now();
  const workerConnection = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  const finished = new Promise<void>((resolve) => {
    const worker = new Worker('bench-ceiling', async () => undefined, {
      connection: workerConnection,
      prefix: stack.prefix,
      concurrency: 200,
    });
    worker.on('completed', () => {
      if (++done === N) void worker.close().then(() => resolve());
    });
  });
  await finished;
  workerConnection.disconnect();
  const work = N / ((performance.now() - t) / 1000);
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  return { add, work };
}

/**
 * Raw Postgres: the statements one message needs, one message per transaction,
 * 16 clients, synchronous commit — what ingest without batching could reach.
 */
async function pgCeiling(stack: BenchStack, teamId: string): Promise<number> {
  const SECONDS = 8;
  const pool = new pg.Pool({ connectionString: stack.databaseUrl, max: 16 });
  const [{ id: inboxId }] = (
    await pool.query(
      `INSERT INTO inboxes (name, channel, address, default_team_id) VALUES ('pgc', 'chat', 'pg-ceiling', $1) RETURNING id`,
      [teamId],
    )
  ).rows;
  let count = 0;
  const deadline = Date.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async (_, client) => {
      const c = await pool.connect();
      try {
        for (let i = 0; Date.now() < deadline; i++) {
          const value = `pgc-${client}-${i % 500}`;
          await c.query('BEGIN');
          const ident = await c.query(
            `WITH c AS (INSERT INTO contacts DEFAULT VALUES RETURNING id)
             INSERT INTO contact_identities (contact_id, kind, value) SELECT id, 'visitor', $1 FROM c
             ON CONFLICT (kind, value) DO UPDATE SET value = excluded.value RETURNING id, contact_id`,
            [value],
          );
          const { id: identityId, contact_id: contactId } = ident.rows[0];
          const t = await c.query(
            `SELECT t.id FROM conversations cv JOIN tickets t ON t.id = cv.ticket_id
             WHERE cv.inbox_id = $1 AND cv.identity_id = $2 FOR UPDATE OF t`,
            [inboxId, identityId],
          );
          let ticketId = t.rows[0]?.id;
          if (!ticketId) {
            ticketId = (
              await c.query(
                `INSERT INTO tickets (subject, team_id, requester_id, channel, inbox_id) VALUES ('x', $1, $2, 'chat', $3) RETURNING id`,
                [teamId, contactId, inboxId],
              )
            ).rows[0].id;
            await c.query(
              `INSERT INTO conversations (inbox_id, identity_id, ticket_id) VALUES ($1, $2, $3)
               ON CONFLICT (inbox_id, identity_id) DO UPDATE SET ticket_id = excluded.ticket_id`,
              [inboxId, identityId, ticketId],
            );
          }
          await c.query(
            `INSERT INTO messages (ticket_id, inbox_id, channel, direction, external_id, text, author_contact_id)
             VALUES ($1, $2, 'chat', 'inbound', $3, $4, $5)`,
            [ticketId, inboxId, `pgc-${client}-${i}`, TEXT, contactId],
          );
          await c.query(`INSERT INTO outbox (queue, job_name, payload) VALUES ('bench', 'bench', '{}'::jsonb)`);
          await c.query('COMMIT');
          count++;
        }
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    }),
  );
  const rate = count / ((performance.now() - started) / 1000);
  // Leave nothing for the relay to trip over once ticket-service starts.
  await pool.query(`DELETE FROM outbox WHERE queue = 'bench'`);
  await pool.end();
  return rate;
}

async function main() {
  const stack = await prepareStack('ingest');
  // Our own connection: Queue.close() leaves a passed-in connection open (it kept the bench alive after RESULT).
  const inboundRedis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  const inboundQueue = new Queue(QueueName.Inbound, { connection: inboundRedis, prefix: stack.prefix });
  try {
    if (stack.prefix === DEFAULT_QUEUE_PREFIX) throw new Error('refusing to run against the production prefix');
    const inboxes = await seedInboxes(stack);
    const teamId = (await stack.pool.query(`SELECT id FROM teams LIMIT 1`)).rows[0].id;

    const bull = await bullmqCeiling(stack, inboxes);
    console.error(`bullmq: addBulk ${Math.round(bull.add)} jobs/s, no-op worker ${Math.round(bull.work)} jobs/s`);
    const pgRate = await pgCeiling(stack, teamId);
    console.error(`postgres: ${Math.round(pgRate)} ingest-shaped tx/s at 16 clients`);

    // Pre-fill: every message of the run waits in Redis before ticket-service starts.
    const factory = new MessageFactory(inboxes, `m${randomBytes(3).toString('hex')}`);
    const fillStart = performance.now();
    for (let i = 0; i < MESSAGES; i += 1000) {
      const chunk = [];
      for (let j = i; j < Math.min(MESSAGES, i + 1000); j++) {
        const channel = MIX[j % MIX.length];
        // Senders repeat across the run: about five messages per conversation.
        const data = buildJob(JobName.InboundMessage, factory.next(channel, (j * 7919) % SENDERS));
        chunk.push({
          name: JobName.InboundMessage,
          data,
          opts: jobOptions(JobName.InboundMessage, {
            jobId: inboundJobId(data.inboxId, data.externalId, data.revision),
          }),
        });
      }
      await inboundQueue.addBulk(chunk);
    }
    console.error(`pre-filled ${MESSAGES} messages in ${Math.round(performance.now() - fillStart)} ms`);

    const env: Record<string, string> = {};
    for (const k of ['INGEST_BATCH_SIZE', 'INGEST_BATCH_WAIT_MS', 'INGEST_CONCURRENCY', 'DB_POOL_SIZE'])
      if (process.env[k]) env[k] = process.env[k]!;
    env.DB_POOL_SIZE ??= '8';
    // Its own port: other benches may have a ticket-service on the default one.
    env.TICKET_SERVICE_PORT = String(await freePort());
    const service = await stack.start('ticket-service', env);

    // Drain: from the first persisted message to the last.
    let first = 0;
    let persisted = 0;
    const drainDeadline = Date.now() + 30 * 60_000;
    let lastLog = 0;
    for (;;) {
      persisted = Number(
        (
          await stack.pool.query(`SELECT count(*) AS n FROM messages WHERE inbox_id = ANY($1)`, [
            Object.values(inboxes),
          ])
        ).rows[0].n,
      );
      const now = performance.now();
      if (!first && persisted > 0) first = now;
      if (persisted >= MESSAGES) break;
      const counts = await inboundQueue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      if (Date.now() > drainDeadline) throw new Error(`not drained: ${persisted} persisted, ${JSON.stringify(counts)}`);
      if (now - lastLog > 5000) {
        lastLog = now;
        console.error(
          `  ${persisted} persisted, queue ${JSON.stringify(counts)}, rss ${Math.round(service.rssMb())} MB`,
        );
      }
      service.rssMb();
      await sleep(100);
    }
    const ingestRate = persisted / ((performance.now() - first) / 1000);
    const tickets = Number((await stack.pool.query(`SELECT count(*) AS n FROM tickets`)).rows[0].n);
    const failed = await inboundQueue.getJobCounts('failed');
    const deadLetters = Number((await stack.pool.query(`SELECT count(*) AS n FROM dead_letters`)).rows[0].n);
    console.error(
      `ingested ${persisted} messages into ${tickets} tickets at ${Math.round(ingestRate)} msg/s (failed jobs ${failed.failed}, dead letters ${deadLetters})`,
    );
    for (let i = 0; i < 100 && Number((await stack.pool.query('SELECT count(*) AS n FROM outbox')).rows[0].n) > 0; i++)
      await sleep(100);

    // Visibility under a steady 200 msg/s: intended enqueue time → row committed on its ticket.
    const vis = new MessageFactory(inboxes, `v${randomBytes(3).toString('hex')}`);
    const pending = new Map<string, number>();
    const latencies: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling || pending.size) {
        if (pending.size) {
          const ids = [...pending.keys()];
          const rows = await stack.pool.query(
            `SELECT m.external_id FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.external_id = ANY($1)`,
            [ids],
          );
          const now = performance.now();
          for (const r of rows.rows) {
            latencies.push(now - pending.get(r.external_id)!);
            pending.delete(r.external_id);
          }
        }
        await sleep(5);
      }
    })();
    const total = VISIBLE_RATE * VISIBLE_SECONDS;
    const t0 = performance.now() + 50;
    const adds: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      const intended = t0 + (i * 1000) / VISIBLE_RATE;
      const wait = intended - performance.now();
      if (wait > 1) await sleep(wait);
      // Half to known customers, half to new ones.
      const sender = i % 2 ? (i * 31) % SENDERS : SENDERS + i;
      const data = buildJob(JobName.InboundMessage, vis.next(MIX[i % MIX.length], sender));
      pending.set(data.externalId, intended);
      adds.push(
        inboundQueue.add(
          JobName.InboundMessage,
          data,
          jobOptions(JobName.InboundMessage, {
            jobId: inboundJobId(data.inboxId, data.externalId, data.revision),
          }),
        ),
      );
      service.rssMb();
    }
    await Promise.all(adds);
    const visDeadline = Date.now() + 30_000;
    while (pending.size && Date.now() < visDeadline) await sleep(20);
    polling = false;
    const lost = pending.size;
    // Never seen within the deadline: counted at the time we gave up (a lower bound), not dropped.
    const gaveUp = performance.now();
    for (const intended of pending.values()) latencies.push(gaveUp - intended);
    pending.clear();
    await poller;
    const visibleP99 = percentile(latencies, 99);
    console.error(
      `visible: p50 ${Math.round(percentile(latencies, 50))} ms, p99 ${Math.round(visibleP99)} ms over ${latencies.length} messages (${lost} not seen)`,
    );
    console.error(`machine: ${machine()}`);
    printResult({
      ingest_msgs_per_s: Math.round(ingestRate),
      bullmq_ceiling: Math.round(bull.work),
      pg_ceiling: Math.round(pgRate),
      visible_p99_ms: Math.round(visibleP99),
      rss_mb: Math.round(service.peakRssMb()),
    });
  } finally {
    await inboundQueue.close();
    inboundRedis.disconnect();
    await stack.stopAll();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
