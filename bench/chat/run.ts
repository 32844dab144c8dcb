/**
 * npm run bench:chat — customer sockets against the built chat-service and
 * ticket-service running as separate processes (one chat-service process).
 *
 *  1. BENCH_SOCKETS (5,000) customer sockets connect (verified by user hash);
 *     rss_mb is the chat-service's resident memory with all of them open
 *     (peak over the whole run is printed too).
 *  2. All but BENCH_ACTIVE (1,000) disconnect; those each send one message every 10 s for
 *     BENCH_SECONDS (40):
 *     - to_agent_p99_ms: intended send time → the agent's `ticket.event`
 *       (message.created) on ticket-service's `/realtime` socket;
 *     - to_customer_p99_ms: an agent reply (POST /v1/tickets/:id/messages, at
 *       BENCH_REPLY_RATE = 20/s, open loop) → the `message` event on the customer's socket.
 * Env: BENCH_SKIP_BUILD=1 to reuse dist/.
 */
import { randomUUID, createHmac } from 'node:crypto';
import { SecretBox } from '@oq/platform';
import { io, Socket } from 'socket.io-client';
import { hashPassword } from '../../apps/ticket-service/src/auth/password';
import { machine, openLoop, percentile, prepareStack, printResult, sleep } from '../support/stack';
import { loginToken } from '../../apps/ticket-service/src/auth/auth.testing';

const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 5000);
const ACTIVE = Math.min(SOCKETS, Number(process.env.BENCH_ACTIVE ?? 1000));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 40);
const SEND_EVERY_MS = 10_000;
const REPLY_RATE = Number(process.env.BENCH_REPLY_RATE ?? 20);

async function main() {
  const stack = await prepareStack('chat');
  const inboxId = randomUUID();
  const secret = randomUUID();
  const sockets: Socket[] = [];
  try {
    const box = new SecretBox(stack.env.SECRETS_KEYS!, stack.env.SECRETS_ACTIVE_KEY!);
    const team = (await stack.pool.query(`INSERT INTO teams (name) VALUES ('Wallet chat') RETURNING id`)).rows[0].id;
    const agent = (
      await stack.pool.query(
        `INSERT INTO agents (email, name, password_hash, role, presence) VALUES ('bench@agent.local', 'Bench', $1, 'agent', 'online') RETURNING id`,
        [await hashPassword('bench-agent-password')],
      )
    ).rows[0].id;
    await stack.pool.query('INSERT INTO agent_teams VALUES ($1, $2)', [agent, team]);
    await stack.pool.query(
      `INSERT INTO inboxes (id, name, channel, address, default_team_id, secrets) VALUES ($1, 'App chat', 'chat', 'bench-app', $2, $3)`,
      [inboxId, team, box.encrypt(JSON.stringify({ identityVerificationSecret: secret }), inboxId)],
    );

    // Postgres allows 100 connections; the default pool of 5 starves ingest + replies + delivery reports under this load.
    // Own ports: other benches on this machine use the harness defaults (31xx).
    const ticket = await stack.start('ticket-service', {
      DB_POOL_SIZE: process.env.BENCH_TICKET_POOL ?? '20',
      TICKET_SERVICE_PORT: process.env.BENCH_TICKET_PORT ?? '3190',
    });
    const chat = await stack.start('chat-service', {
      TICKET_SERVICE_URL: ticket.url,
      CHAT_SERVICE_PORT: process.env.BENCH_CHAT_PORT ?? '3195',
      // Every bench socket comes from 127.0.0.1: per-IP limits would measure the limiter, not the service.
      CHAT_IP_CONNECTS_PER_WINDOW: '1000000',
      CHAT_IP_MESSAGES_PER_WINDOW: '1000000',
    });

    const agentToken = await loginToken(ticket.url, 'bench@agent.local', 'bench-agent-password');

    // The agent's realtime socket: message.created events, timed on arrival.
    const agentEvents = new Map<string, number>();
    const agentSocket = io(ticket.url, { path: '/realtime', transports: ['websocket'], auth: { token: agentToken } });
    agentSocket.on('ticket.event', (e: { type: string; data: { messageId?: string; direction?: string } }) => {
      if (e.type === 'message.created' && e.data.direction === 'inbound' && e.data.messageId)
        agentEvents.set(e.data.messageId, performance.now());
    });
    await new Promise<void>((res, rej) => {
      agentSocket.once('connect', () => res());
      agentSocket.once('connect_error', rej);
    });

    // Phase 1: connect every customer, 100 handshakes in flight at a time.
    const replyArrivals = new Map<string, number>();
    const replyArrivalsWall = new Map<string, number>();
    const ackLatencies: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < SOCKETS; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, SOCKETS - i) }, (_, j) => {
          const userId = `bench-user-${i + j}`;
          const socket = io(chat.url, {
            path: '/chat/socket',
            transports: ['websocket'],
            auth: { inboxId, userId, userHash: createHmac('sha256', secret).update(userId).digest('hex') },
            reconnection: false,
          });
          socket.on('message', (m: { id: string }, ack?: (ok: boolean) => void) => {
            replyArrivals.set(m.id, performance.now());
            replyArrivalsWall.set(m.id, Date.now());
            ack?.(true);
          });
          sockets[i + j] = socket;
          return new Promise<void>((res, rej) => {
            socket.once('session', () => res());
            socket.once('connect_error', (err) => rej(new Error(`socket ${i + j}: ${err.message}`)));
          });
        }),
      );
    }
    const connectSeconds = (performance.now() - t0) / 1000;
    await sleep(3000);
    const rssConnected = chat.rssMb();
    const connectedCount = sockets.filter((x) => x.connected).length;
    console.log(
      `${SOCKETS} sockets connected in ${connectSeconds.toFixed(1)} s; chat-service RSS ${rssConnected.toFixed(0)} MB`,
    );
    // The latency phase runs at ACTIVE connected customers, as the issue states it (and spares the load generator).
    for (const x of sockets.slice(ACTIVE)) x.close();
    await sleep(1000);

    // Phase 2: ACTIVE customers send every 10 s (spread evenly), while an agent replies at REPLY_RATE.
    const sentAt = new Map<string, number>(); // externalId → intended send time
    const ticketOf = new Map<number, string>(); // customer → ticket id (known after their first message lands)
    let sendErrors = 0;
    const rate = (ACTIVE * 1000) / SEND_EVERY_MS;
    const customerLoad = openLoop({
      rate,
      durationMs: SECONDS * 1000,
      fire: async (n) => {
        const customer = n % ACTIVE;
        const intended = performance.now();
        const ack = await sockets[customer].timeout(10_000).emitWithAck('message:send', {
          clientId: `b${n}`,
          text: `bench message ${n} from customer ${customer}`,
        });
        if (!ack.ok) {
          sendErrors++;
          throw new Error(ack.message);
        }
        sentAt.set(ack.externalId, intended);
        ackLatencies.push(performance.now() - intended);
      },
    });

    // Replies start once the first round of messages has made tickets.
    await sleep(SEND_EVERY_MS + 2000);
    const known = await stack.pool.query(
      `SELECT DISTINCT ON (t.id) t.id, ci.value AS user_id FROM tickets t
       JOIN contact_identities ci ON ci.contact_id = t.requester_id AND ci.kind = 'app_user'`,
    );
    for (const r of known.rows) ticketOf.set(Number(String(r.user_id).replace('bench-user-', '')), r.id);
    const ticketIds = [...ticketOf.values()];
    if (!ticketIds.length) throw new Error('no tickets were created from chat messages');
    const replyStarted = new Map<string, number>();
    let replyErrors = 0;
    const replyLoad = openLoop({
      rate: REPLY_RATE,
      durationMs: Math.max(5000, (SECONDS - (SEND_EVERY_MS + 2000) / 1000 - 2) * 1000),
      fire: async (n) => {
        const started = performance.now();
        const res = await fetch(`${ticket.url}/v1/tickets/${ticketIds[n % ticketIds.length]}/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${agentToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ text: `reply ${n}` }),
        });
        if (res.status !== 201) {
          replyErrors++;
          throw new Error(`reply ${res.status}`);
        }
        replyStarted.set(((await res.json()) as { id: string }).id, started);
      },
    });
    const [customerRun] = await Promise.all([customerLoad, replyLoad]);
    await sleep(3000);
    const peakRss = chat.peakRssMb();

    // Join agent events (by our message id) to send times (by external id).
    const rows = await stack.pool.query(`SELECT id, external_id FROM messages WHERE external_id = ANY($1::text[])`, [
      [...sentAt.keys()],
    ]);
    const toAgent: number[] = [];
    let missingAgent = 0;
    for (const r of rows.rows) {
      const arrived = agentEvents.get(r.id);
      if (arrived === undefined) missingAgent++;
      else toAgent.push(arrived - sentAt.get(r.external_id)!);
    }
    missingAgent += sentAt.size - rows.rows.length;
    const toCustomer: number[] = [];
    let missingCustomer = 0;
    for (const [id, started] of replyStarted) {
      const arrived = replyArrivals.get(id);
      if (arrived === undefined) missingCustomer++;
      else toCustomer.push(arrived - started);
    }
    // chat-service's own share of the reply path: outbound.chat job created → customer socket has it.
    const { Queue } = await import('bullmq');
    const outbound = new Queue('outbound.chat', { connection: stack.redis, prefix: stack.prefix });
    const pushLatencies: number[] = [];
    for (const id of replyStarted.keys()) {
      const job = await outbound.getJob(`${id}-0`);
      const arrived = replyArrivalsWall.get(id);
      if (job && arrived !== undefined) pushLatencies.push(arrived - job.timestamp);
    }
    await outbound.close();
    console.log(
      `chat-service only: send→ack p50 ${percentile(ackLatencies, 50).toFixed(1)} / p99 ${percentile(ackLatencies, 99).toFixed(1)} ms; ` +
        `outbound.chat job→customer p50 ${percentile(pushLatencies, 50).toFixed(1)} / p99 ${percentile(pushLatencies, 99).toFixed(1)} ms`,
    );
    console.log(
      `machine: ${machine()}; sent ${customerRun.sent} customer messages (${sendErrors} refused), ` +
        `${replyStarted.size} replies (${replyErrors} failed); missing agent events ${missingAgent}, missing customer pushes ${missingCustomer}; ` +
        `to_agent p50 ${percentile(toAgent, 50).toFixed(1)} ms, to_customer p50 ${percentile(toCustomer, 50).toFixed(1)} ms; peak RSS ${peakRss.toFixed(0)} MB`,
    );
    agentSocket.close();
    printResult({
      sockets: connectedCount,
      rss_mb: Math.round(rssConnected),
      peak_rss_mb: Math.round(peakRss),
      to_agent_p99_ms: percentile(toAgent, 99),
      to_customer_p99_ms: percentile(toCustomer, 99),
      lost: missingAgent + missingCustomer,
      ack_p99_ms: percentile(ackLatencies, 99),
      push_p99_ms: percentile(pushLatencies, 99),
    });
  } finally {
    for (const s of sockets) s?.close();
    await stack.stopAll();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
