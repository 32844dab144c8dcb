/**
 * npm run bench:ingest — InboundMessages into persisted tickets/messages through the
 * BUILT ticket-service running as a separate process (outbox relay running).
 *
 * In one run:
 *  - bullmq_ceiling: raw BullMQ, addBulk of ingest-sized payloads then a no-op worker (jobs/s processed);
 *  - pg_ceiling: ingest-shaped transactions (identity upsert, ticket select + insert, message insert,
 *    outbox insert; one message per transaction, synchronous commit) from 16 clients (tx/s = msgs/s);
 *  - batch_ceiling: the set-based path's own statements (libs/database ingestBatchSql, outboxInsertSql)
 *    run raw with pg: 50 messages per transaction, one multi-row statement per table, 8 clients (msgs/s)
 *    — what batching can reach on this disk;
 *  - ingest_msgs_per_s: a pre-filled `inbound` queue of BENCH_MESSAGES (100,000) mixed-channel
 *    messages (email with threading, WhatsApp with linked phones, Telegram, Messenger, chat, call logs),
 *    drained by ticket-service: messages persisted / wall time from first to last; over the drain
 *    round_trips_per_msg (the service's oq_db_round_trips_total), wal_bytes_per_msg
 *    (pg_current_wal_lsn before/after) and the CPU split (cpu_service_s, cpu_pg_s: utime+stime from /proc);
 *  - visible_p99_ms: open loop at half_load_rate (half the drain's measured rate; BENCH_VISIBLE_RATE
 *    overrides) for BENCH_VISIBLE_SECONDS (20), the drain's mix and its share of new customers (one in
 *    five): intended enqueue time → the `message.created` event on
 *    an agent's /realtime socket (coordinated omission corrected), cross-checked on every 100th message by
 *    GET /v1/tickets/:id showing it (api_missing counts those that did not) and by GET /v1/queue every
 *    200 ms (queue_p99_ms);
 *  - rss_mb: peak RSS of the ticket-service process.
 * Env: BENCH_MESSAGES, BENCH_VISIBLE_SECONDS, BENCH_VISIBLE_RATE, BENCH_SKIP_BUILD=1, INGEST_* / DB_POOL_SIZE passthrough.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
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
import { ingestBatchSql, outboxInsertSql } from '@oq/database';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import * as pg from 'pg';
import { io } from 'socket.io-client';
import { loginToken } from '../../apps/ticket-service/src/auth/auth.testing';
import { hashPassword } from '../../apps/ticket-service/src/auth/password';
import { TICKET_EVENT } from '../../apps/ticket-service/src/realtime/realtime.gateway';
import { freePort } from '../../test/support/redis-server';
import { BenchStack, machine, percentile, prepareStack, printResult, sleep } from '../support/stack';
import { cpuSecondsOf } from '../support/proc';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const VISIBLE_RATE = process.env.BENCH_VISIBLE_RATE ? Number(process.env.BENCH_VISIBLE_RATE) : undefined;
const VISIBLE_SECONDS = Number(process.env.BENCH_VISIBLE_SECONDS ?? 20);
const WARM_SECONDS = 3;
const SENDERS = Math.max(100, Math.floor(MESSAGES / 5));
const CHANNELS = ['email', 'whatsapp', 'telegram', 'messenger', 'chat', 'voice'] as const;
type Channel = (typeof CHANNELS)[number];
// Mix by share of traffic: messaging apps and email dominate, calls are fewer.
const DEFAULT_MIX: Channel[] = [
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
/** BENCH_MIX=chat,telegram (channels, repeated for weight) isolates one path for profiling; the default is the RESULT's mix. */
const MIX: Channel[] = process.env.BENCH_MIX
  ? process.env.BENCH_MIX.split(',').map((c) => {
      if (!(CHANNELS as readonly string[]).includes(c)) throw new Error(`BENCH_MIX: unknown channel ${c}`);
      return c as Channel;
    })
  : DEFAULT_MIX;

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
  return closedLoopTransactions(stack, teamId, 'pg-ceiling', 16, async (c, inboxId, client, i) => {
    const value = `pgc-${client}-${i % 500}`;
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
    return 1;
  });
}

/**
 * Raw set-based Postgres: the set-based path's own statements (ingestBatchSql, outboxInsertSql) with
 * plain pg, 50 messages per transaction from 50 senders, 8 clients (the service's pool), synchronous
 * commit — locks + savepoint, lookup, new senders, their tickets, the known senders' tickets locked,
 * messages, conversations, ticket counters, outbox: 11 round trips per 50 messages. Senders repeat
 * every 500 messages per client, as pg_ceiling's do.
 */
async function batchCeiling(stack: BenchStack, teamId: string): Promise<number> {
  const BATCH = 50;
  const run = (c: pg.PoolClient, q: { name?: string; text: string; params: unknown[] }) =>
    c.query({ name: q.name, text: q.text, values: q.params });
  return closedLoopTransactions(stack, teamId, 'batch-ceiling', 8, async (c, inboxId, client, b) => {
    const now = new Date();
    const msgs = Array.from({ length: BATCH }, (_, j) => {
      const n = (b * BATCH + j) % 500;
      return { n, value: `bc-${client}-${n}`, externalId: `bc-${client}-${b}-${j}` };
    });
    await c.query(
      ingestBatchSql.senderLocks(
        msgs.map((m) => String(client * 1000 + m.n)),
        'inbound_set',
      ),
    );
    const found = (
      await run(
        c,
        ingestBatchSql.lookup(
          msgs.map((m) => ({ inboxId, externalId: m.externalId, kind: 'app_user', value: m.value })),
        ),
      )
    ).rows as { identity_id: string | null; contact_id: string | null }[];
    const fresh = msgs
      .map((m, i) => ({ m, f: found[i] }))
      .filter((x) => !x.f.identity_id)
      .map(({ m }) => ({
        m,
        contactId: randomUUID(),
        identityId: randomUUID(),
        ticketId: randomUUID(),
      }));
    const known = msgs
      .map((m, i) => ({ m, f: found[i] }))
      .filter((x) => x.f.identity_id)
      .map(({ m, f }) => ({ m, contactId: f.contact_id!, identityId: f.identity_id! }));
    // The service's routing read (here only its conversations part).
    const tickets = known.length
      ? ((
          await run(
            c,
            ingestBatchSql.routes({
              links: [],
              conversations: known.map((k) => ({ inboxId, identityId: k.identityId })),
              mails: [],
              calls: [],
            }),
          )
        ).rows[0].conversations as { identity_id: string; id: string; status: string; priority: string }[])
      : [];
    const byIdentity = new Map(tickets.map((t) => [t.identity_id, t]));
    const rows = [
      ...fresh.map((x) => ({ m: x.m, contactId: x.contactId, identityId: x.identityId, ticketId: x.ticketId })),
      ...known.map((k) => ({
        m: k.m,
        contactId: k.contactId,
        identityId: k.identityId,
        ticketId: byIdentity.get(k.identityId)!.id,
      })),
    ];
    const messages = rows.map((r) => ({
      id: randomUUID(),
      ticketId: r.ticketId,
      inboxId,
      channel: 'chat',
      direction: 'inbound' as const,
      kind: 'message',
      authorContactId: r.contactId,
      externalId: r.m.externalId,
      revision: 1,
      subject: null,
      text: TEXT,
      html: null,
      attachments: [],
      metadata: { receivedAt: now.toISOString() },
      emailMessageId: null,
      autoSubmitted: false,
      sourceTime: now,
      senderName: null,
      senderAddress: r.m.value,
      senderHeader: null,
    }));
    // The service's one write statement (senders, tickets, messages, bindings, touches), raw.
    await run(
      c,
      ingestBatchSql.write({
        senders: fresh.map((x) => ({
          contactId: x.contactId,
          identityId: x.identityId,
          name: null,
          kind: 'app_user',
          value: x.m.value,
          verified: false,
          linkedIdentityId: null,
          newContact: true,
        })),
        names: [],
        tickets: fresh.map((x) => ({
          id: x.ticketId,
          subject: TEXT.slice(0, 60),
          priority: 'normal',
          teamId,
          requesterId: x.contactId,
          channel: 'chat',
          inboxId,
          followUpOfId: null,
          customerMessageCount: 1,
          lastCustomerMessageAt: now,
          audit: { via: 'new_conversation' },
        })),
        messages,
        conversations: rows.map((r) => ({
          inboxId,
          identityId: r.identityId,
          ticketId: r.ticketId,
          lastInboundAt: now,
        })),
        touches: tickets.map((t) => ({
          id: t.id,
          status: t.status === 'new' ? 'new' : 'open',
          priority: t.priority,
          reopen: false,
          customerMessages: 1,
          lastCustomerMessageAt: now,
          versionBumps: 0,
        })),
      }),
    );
    await run(
      c,
      outboxInsertSql([
        ...messages.map((m) => ({ queue: 'bench', jobName: 'bench', payload: { messageId: m.id } })),
        ...fresh.map((x) => ({ queue: 'bench', jobName: 'bench', payload: { ticketId: x.ticketId } })),
      ]),
    );
    return BATCH;
  });
}

/**
 * `clients` connections each running `tx` in a transaction (synchronous commit) back to back for
 * 8 s against an inbox of their own: messages committed per second. The outbox rows they wrote
 * are removed after, so the relay has nothing to trip over once ticket-service starts.
 */
async function closedLoopTransactions(
  stack: BenchStack,
  teamId: string,
  address: string,
  clients: number,
  tx: (c: pg.PoolClient, inboxId: string, client: number, i: number) => Promise<number>,
): Promise<number> {
  const SECONDS = 8;
  const pool = new pg.Pool({ connectionString: stack.databaseUrl, max: clients });
  const [{ id: inboxId }] = (
    await pool.query(
      `INSERT INTO inboxes (name, channel, address, default_team_id) VALUES ($1, 'chat', $1, $2) RETURNING id`,
      [address, teamId],
    )
  ).rows;
  let count = 0;
  const deadline = Date.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      const c = await pool.connect();
      try {
        for (let i = 0; Date.now() < deadline; i++) {
          await c.query('BEGIN');
          const messages = await tx(c, inboxId, client, i);
          await c.query('COMMIT');
          count += messages;
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
  await pool.query(`DELETE FROM outbox WHERE queue = 'bench'`);
  await pool.end();
  return rate;
}

/** The service's oq_db_round_trips_total and which ingest path its messages took, scraped as Prometheus would. */
async function scrapeIngest(url: string): Promise<{ trips: number; paths: string }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^oq_db_round_trips_total\{[^}]*\} (\S+)$/m.exec(text);
  if (!m) throw new Error('ticket-service /metrics has no oq_db_round_trips_total');
  const paths = [...text.matchAll(/^oq_ingest_paths_total\{path="([^"]+)"[^}]*\} (\S+)$/gm)]
    .map((p) => `${p[1]} ${p[2]}`)
    .join(', ');
  return { trips: Number(m[1]), paths };
}

async function walLsn(pool: pg.Pool): Promise<string> {
  return (await pool.query(`SELECT pg_current_wal_lsn()::text AS lsn`)).rows[0].lsn;
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
    const batchRate = await batchCeiling(stack, teamId);
    console.error(`postgres set-based: ${Math.round(batchRate)} msgs/s, 50 per transaction at 8 clients`);

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
    const walBefore = await walLsn(stack.pool);
    const service = await stack.start('ticket-service', env);
    const pgCpu = () => cpuSecondsOf((_, comm) => comm === 'postgres');
    const serviceCpu = () => cpuSecondsOf((pid) => pid === service.pid);
    const cpuBefore = { service: serviceCpu(), pg: pgCpu() };

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
    // Over the whole drain, boot included (a few dozen round trips: an overcount, never an undercount).
    const { trips, paths } = await scrapeIngest(service.url);
    const cpu = { service: serviceCpu() - cpuBefore.service, pg: pgCpu() - cpuBefore.pg };
    const walBytes = Number(
      (await stack.pool.query(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS b`, [walBefore])).rows[0].b,
    );
    console.error(
      `drain: ${(trips / persisted).toFixed(3)} round trips/msg, ${Math.round(walBytes / persisted)} WAL bytes/msg, ` +
        `CPU ticket-service ${cpu.service.toFixed(1)} s, postgres ${cpu.pg.toFixed(1)} s; paths: ${paths}`,
    );
    const tickets = Number((await stack.pool.query(`SELECT count(*) AS n FROM tickets`)).rows[0].n);
    const failed = await inboundQueue.getJobCounts('failed');
    const deadLetters = Number((await stack.pool.query(`SELECT count(*) AS n FROM dead_letters`)).rows[0].n);
    console.error(
      `ingested ${persisted} messages into ${tickets} tickets at ${Math.round(ingestRate)} msg/s (failed jobs ${failed.failed}, dead letters ${deadLetters})`,
    );
    // The drain's events still in the outbox would sit ahead of the next phase's: let the relay finish first.
    const relayStart = performance.now();
    const outboxRows = async () => Number((await stack.pool.query('SELECT count(*) AS n FROM outbox')).rows[0].n);
    const left = await outboxRows();
    for (const relayDeadline = Date.now() + 10 * 60_000; (await outboxRows()) > 0;) {
      if (Date.now() > relayDeadline) throw new Error('the outbox relay did not drain in 10 minutes');
      await sleep(100);
    }
    const relayDrainS = (performance.now() - relayStart) / 1000;
    console.error(`outbox: ${left} events left after the drain, relayed in ${relayDrainS.toFixed(1)} s`);

    // Visibility at half the measured capacity, as an agent sees it: the socket's message.created.
    // Statistics, as autovacuum would have them by now: this machine's Postgres runs with autovacuum
    // off (CI's conf.d), and the drain filled tables from empty; without them the ticket view's
    // participants query plans seq scans (70 ms instead of 0.7 ms) and eats the half-load phase's CPU.
    await stack.pool.query('ANALYZE');
    const halfRate = VISIBLE_RATE ?? Math.max(1, Math.round(ingestRate / 2));
    const password = 'bench-agent-password';
    await stack.pool.query(
      `WITH a AS (INSERT INTO agents (email, name, password_hash, role)
                  VALUES ('agent@bench.local', 'Bench Agent', $1, 'agent') RETURNING id)
       INSERT INTO agent_teams (agent_id, team_id) SELECT a.id, $2 FROM a`,
      [await hashPassword(password), teamId],
    );
    const token = await loginToken(service.url, 'agent@bench.local', password);
    const headers = { authorization: `Bearer ${token}` };
    const http = new Agent({ keepAlive: true, maxSockets: 16 });
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${service.url}${path}`, { agent: http, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        });
        req.on('error', (err) => reject(new Error(`GET ${path}: ${err.message}`)));
        req.end();
      });
    const socket = io(service.url, { path: '/realtime', auth: { token }, transports: ['websocket'] });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    /** messageId → when the agent's socket told of it. */
    const seenAt = new Map<string, number>();
    let apiChecked = 0;
    let apiMissing = 0;
    const apiChecks: Promise<void>[] = [];
    socket.on(TICKET_EVENT, (e: { type: string; ticketId: string; data: { messageId?: string } }) => {
      if (e.type !== 'message.created' || !e.data.messageId) return;
      const messageId = e.data.messageId;
      seenAt.set(messageId, performance.now());
      // Every 100th: the API an agent would open next must already show what the event announced.
      if (seenAt.size % 100 === 0)
        apiChecks.push(
          get(`/v1/tickets/${e.ticketId}`).then(
            ({ status, body }) => {
              apiChecked++;
              if (status !== 200 || !body.includes(messageId)) apiMissing++;
            },
            (err: Error) => {
              apiChecked++;
              apiMissing++;
              console.error(`  API cross-check failed: ${err.message}`);
            },
          ),
        );
    });
    const queueLatencies: number[] = [];
    let queueErrors = 0;
    let sampling = true;
    const queueSampler = (async () => {
      while (sampling) {
        const t = performance.now();
        // A failed call counts as an error, and its time as a latency: never dropped.
        const status = await get('/v1/queue?limit=25').then(
          (r) => r.status,
          (err: Error) => err.message,
        );
        if (status !== 200) {
          queueErrors++;
          console.error(`  GET /v1/queue failed: ${status}`);
        }
        queueLatencies.push(performance.now() - t);
        await sleep(200);
      }
    })();

    const intendedAt = new Map<string, number>();
    const visTag = `v${randomBytes(3).toString('hex')}`;
    // Where a backlog sits, every 2 s: the inbound queue (ingest), the outbox (relay), or neither (delivery to sockets).
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        await sleep(2000);
        const counts = await inboundQueue.getJobCounts('waiting', 'active');
        const outbox = Number((await stack.pool.query('SELECT count(*) AS n FROM outbox')).rows[0].n);
        const committed = Number(
          (
            await stack.pool.query(
              `SELECT count(*) AS n FROM messages WHERE inbox_id = ANY($1) AND external_id LIKE $2 || '-%'`,
              [Object.values(inboxes), visTag],
            )
          ).rows[0].n,
        );
        // What the service's connections are doing (a lock wait shows as Lock/…, a slow client as Client/ClientRead).
        const activity = (
          await stack.pool.query(
            `SELECT coalesce(wait_event_type || '/' || wait_event, 'cpu') AS w, state, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS q, count(*)::int AS n
               FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'ticket-service' AND state <> 'idle'
              GROUP BY 1, 2, 3 ORDER BY 4 DESC LIMIT 4`,
          )
        ).rows.map((r) => `${r.n}× ${r.state} ${r.w}: ${r.q}`);
        console.error(
          `  sent ${intendedAt.size}, committed ${committed}, seen on the socket ${seenAt.size}; ` +
            `inbound waiting ${counts.waiting} active ${counts.active}, outbox ${outbox}\n    ${activity.join('\n    ')}`,
        );
      }
    })();
    const vis = new MessageFactory(inboxes, visTag);
    // The first WARM_SECONDS at the same rate are not measured (as in the other benchmarks): a live
    // service is never cold, and the drain just left it with connections and plans for other shapes.
    const warm = new MessageFactory(inboxes, `${visTag}w`);
    const warmTotal = Math.round(halfRate * WARM_SECONDS);
    const total = Math.round(halfRate * VISIBLE_SECONDS);
    const t0 = performance.now() + 50;
    const adds: Promise<unknown>[] = [];
    for (let i = 0; i < warmTotal + total; i++) {
      const intended = t0 + (i * 1000) / halfRate;
      const wait = intended - performance.now();
      if (wait > 1) await sleep(wait);
      // The drain's shape, so "half its capacity" is half: one message in five from a new customer.
      const sender = i % 5 ? (i * 31) % SENDERS : SENDERS + i;
      const measured = i >= warmTotal;
      const data = buildJob(JobName.InboundMessage, (measured ? vis : warm).next(MIX[i % MIX.length], sender));
      if (measured) intendedAt.set(data.externalId, intended);
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
    // Until every message's event arrived (or 30 s): the event count is the proof, no fixed wait.
    const visDeadline = Date.now() + 30_000;
    while (seenAt.size < warmTotal + total && Date.now() < visDeadline) await sleep(20);
    const gaveUp = performance.now();
    sampling = false;
    watching = false;
    await watcher;
    await queueSampler;
    await Promise.all(apiChecks);
    const metrics = await get('/metrics').then(
      (r) => r.body,
      () => '',
    );
    socket.disconnect();
    http.destroy();
    // One query afterwards maps the events' message ids to the external ids we sent.
    const mapped = (
      await stack.pool.query(`SELECT id, external_id FROM messages WHERE external_id = ANY($1)`, [
        [...intendedAt.keys()],
      ])
    ).rows as { id: string; external_id: string }[];
    const latencies: number[] = [];
    const seenExternal = new Set<string>();
    for (const r of mapped) {
      const at = seenAt.get(r.id);
      if (at === undefined) continue;
      seenExternal.add(r.external_id);
      latencies.push(at - intendedAt.get(r.external_id)!);
    }
    // Never seen within the deadline: counted at the time we gave up (a lower bound), not dropped.
    let lost = 0;
    for (const [externalId, intended] of intendedAt)
      if (!seenExternal.has(externalId)) {
        lost++;
        latencies.push(gaveUp - intended);
      }
    const visibleP99 = percentile(latencies, 99);
    const queueP99 = percentile(queueLatencies, 99);
    console.error(
      `visible at ${halfRate} msg/s: p50 ${Math.round(percentile(latencies, 50))} ms, p99 ${Math.round(visibleP99)} ms ` +
        `over ${latencies.length} messages (${lost} not seen); API cross-check ${apiChecked - apiMissing}/${apiChecked} ` +
        `showed the message; GET /v1/queue p99 ${queueP99.toFixed(1)} ms over ${queueLatencies.length} samples`,
    );
    // What the RSS is made of: V8's heap (used / reserved) against everything else.
    const gauge = (name: string) =>
      Math.round(Number(new RegExp(`^oq_${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN) / 2 ** 20);
    console.error(
      `ticket-service memory at the end: rss ${gauge('process_resident_memory_bytes')} MB, heap used ` +
        `${gauge('nodejs_heap_size_used_bytes')} MB of ${gauge('nodejs_heap_size_total_bytes')} MB, external ${gauge('nodejs_external_memory_bytes')} MB`,
    );
    console.error(`machine: ${machine()}`);
    printResult({
      ingest_msgs_per_s: Math.round(ingestRate),
      pg_ceiling: Math.round(pgRate),
      pg_ceiling_ratio: (ingestRate / pgRate).toFixed(2),
      batch_ceiling: Math.round(batchRate),
      batch_ceiling_ratio: (ingestRate / batchRate).toFixed(2),
      half_load_rate: halfRate,
      visible_p99_ms: Math.round(visibleP99),
      visible_lost: lost,
      api_checked: apiChecked,
      api_missing: apiMissing,
      queue_p99_ms: queueP99.toFixed(1),
      queue_errors: queueErrors,
      round_trips_per_msg: (trips / persisted).toFixed(3),
      wal_bytes_per_msg: Math.round(walBytes / persisted),
      cpu_service_s: cpu.service.toFixed(1),
      cpu_pg_s: cpu.pg.toFixed(1),
      rss_mb: Math.round(service.peakRssMb()),
      bullmq_ceiling: Math.round(bull.work),
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
