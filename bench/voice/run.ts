/**
 * npm run bench:voice — Twilio status callbacks against the built voice-service
 * and ticket-service running as separate processes.
 *
 * Open-loop 500 callbacks/s (ringing, in-progress, completed for each call,
 * interleaved across calls), each correctly signed. Measures:
 *  - callback_p99_ms: intended send time → HTTP 200 (coordinated omission corrected);
 *  - visible_p99_ms: intended send time of the final (completed) callback → the
 *    call-log message row committed on the ticket timeline (seen by a 10 ms poller).
 * 20 whole calls sent side by side, then BENCH_WARMUP_SECONDS (3) at half the rate, warm up pool connections,
 * JIT and the inbox directory first (not measured).
 * Env: BENCH_RATE (500), BENCH_SECONDS (20), BENCH_WARMUP_SECONDS (3), BENCH_SKIP_BUILD=1 to reuse dist/.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Agent, createServer, request } from 'node:http';
import { AddressInfo } from 'node:net';
import { SecretBox } from '@oq/platform';
import { machine, openLoop, percentile, prepareStack, printResult, sleep } from '../support/stack';
import { twilioSignature } from '../../apps/voice-service/src/twilio/twilio-signature';

const RATE = Number(process.env.BENCH_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const EVENTS_PER_CALL = 3;

// Plain http with keep-alive: the load generator shares the machine, so it should cost less CPU than fetch.
const agent = new Agent({ keepAlive: true, maxSockets: 512 });
function post(port: number, path: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  const stack = await prepareStack('voice');
  const inboxId = randomUUID();
  const authToken = randomBytes(16).toString('hex');
  const accountSid = `AC${randomBytes(16).toString('hex')}`;
  const hotline = '+18005550100';
  try {
    // The inbox as ticket-service stores it: secrets encrypted with the inbox id as AAD.
    const box = new SecretBox(stack.env.SECRETS_KEYS!, stack.env.SECRETS_ACTIVE_KEY!);
    const team = await stack.pool.query(`INSERT INTO teams (name) VALUES ('Hotline') RETURNING id`);
    await stack.pool.query(
      `INSERT INTO inboxes (id, name, channel, address, default_team_id, secrets) VALUES ($1, 'Hotline', 'voice', $2, $3, $4)`,
      [inboxId, hotline, team.rows[0].id, box.encrypt(JSON.stringify({ authToken, accountSid }), inboxId)],
    );

    // Without a working ticket-service only the callback latency can be measured.
    // Ports of our own, so this bench can run while another one holds the harness defaults.
    const ticket = await stack.start('ticket-service', { TICKET_SERVICE_PORT: '3110' }).catch((err) => {
      console.error(`ticket-service did not start (${(err as Error).message}): measuring callbacks only`);
      return null;
    });
    // Use ticket-service's internal inbox API when it serves this inbox; otherwise a local stand-in speaking the same contract.
    let internalUrl = ticket?.url ?? '';
    const probe = ticket
      ? await fetch(`${ticket.url}/internal/inboxes/${inboxId}`, {
          headers: { 'x-service-token': stack.env.SERVICE_TOKEN! },
        }).catch(() => null)
      : null;
    let fake: ReturnType<typeof createServer> | undefined;
    if (probe?.status !== 200) {
      console.error(`ticket-service internal inbox API unavailable (${probe?.status}); using a local stand-in`);
      const inbox = {
        id: inboxId,
        name: 'Hotline',
        channel: 'voice',
        address: hotline,
        defaultTeamId: team.rows[0].id,
        enabled: true,
        settings: {},
        secrets: { authToken, accountSid },
      };
      fake = createServer((req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(req.url?.startsWith('/internal/inboxes?') ? [inbox] : inbox));
      });
      await new Promise<void>((r) => fake!.listen(0, '127.0.0.1', r));
      internalUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    }
    const voicePort = 3114;
    const publicBase = `http://127.0.0.1:${voicePort}`;
    const voice = await stack.start('voice-service', {
      TICKET_SERVICE_URL: internalUrl,
      VOICE_PUBLIC_BASE_URL: publicBase,
      VOICE_SERVICE_PORT: String(voicePort),
      DB_POOL_SIZE: '10',
    });

    const path = `/webhooks/twilio/${inboxId}`;
    const total = Math.floor(RATE * SECONDS);
    const calls = Math.ceil(total / EVENTS_PER_CALL);
    const sids = Array.from({ length: calls }, (_, i) => `CA${randomBytes(12).toString('hex')}${i}`);
    const caller = (i: number) => `+1415555${String(1000 + (i % 9000)).padStart(4, '0')}`;
    // Request i: call floor(i/3) in a sliding window so events of different calls interleave.
    const plan = (i: number) => {
      const window = 30;
      const block = Math.floor(i / (window * EVENTS_PER_CALL));
      const within = i % (window * EVENTS_PER_CALL);
      const call = block * window + (within % window);
      const step = Math.floor(within / window);
      return { call: Math.min(call, calls - 1), step };
    };
    const callback = async (sid: string, call: number, status: string, sentAt?: number) => {
      const params: Record<string, string> = {
        AccountSid: accountSid,
        CallSid: sid,
        From: caller(call),
        To: hotline,
        Direction: 'inbound',
        CallStatus: status,
        Timestamp: new Date().toUTCString(),
        ...(status === 'completed' ? { CallDuration: String(30 + (call % 200)) } : {}),
      };
      if (status === 'completed' && sentAt !== undefined) finalSentAt.set(sid, sentAt);
      const code = await post(voicePort, path, new URLSearchParams(params).toString(), {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(authToken, publicBase + path, params),
      });
      if (code !== 200) throw new Error(`status ${code}`);
    };
    const finalSentAt = new Map<string, number>();
    const seenAt = new Map<string, number>();
    // Warm up the pool's connections, JIT and the inbox directory: 20 whole calls side by side, not measured.
    await Promise.all(
      Array.from({ length: 20 }, async (_, c) => {
        for (const status of ['ringing', 'in-progress', 'completed']) await callback(`CAwarm${c}`, c, status);
      }),
    );
    // Then BENCH_WARMUP_SECONDS at half the rate, as a live service is never cold; not measured either.
    await openLoop({
      rate: RATE / 2,
      durationMs: WARMUP_SECONDS * 1000,
      fire: async (i) => {
        const { call, step } = plan(i);
        await callback(`CAwarm-r${call}`, call, ['ringing', 'in-progress', 'completed'][step]);
      },
    });

    let polling = true;
    const poller = (async () => {
      while (polling) {
        const { rows } = await stack.pool.query(
          `SELECT external_id FROM messages WHERE inbox_id = $1 AND kind = 'call_log' AND external_id NOT LIKE 'CAwarm%'
             AND created_at > now() - interval '10 seconds'`,
          [inboxId],
        );
        const now = performance.now();
        for (const r of rows) if (!seenAt.has(r.external_id)) seenAt.set(r.external_id, now);
        await sleep(10);
      }
    })();

    const t0 = performance.now() + 50;
    const result = await openLoop({
      rate: RATE,
      durationMs: SECONDS * 1000,
      fire: async (i) => {
        const { call, step } = plan(i);
        await callback(sids[call], call, ['ringing', 'in-progress', 'completed'][step], t0 + (i * 1000) / RATE);
      },
    });

    // Wait for the last call logs to land (or give up after 15 s).
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && seenAt.size < finalSentAt.size) await sleep(50);
    polling = false;
    await poller;

    const visible = [...finalSentAt].filter(([sid]) => seenAt.has(sid)).map(([sid, t]) => seenAt.get(sid)! - t);
    const counts = await stack.pool.query(
      `SELECT count(*)::int AS n, count(DISTINCT external_id)::int AS distinct_calls, max(revision)::int AS max_rev
         FROM messages WHERE inbox_id = $1 AND kind = 'call_log' AND external_id NOT LIKE 'CAwarm%'`,
      [inboxId],
    );
    const queued = await stack.redis.zcard(`${stack.prefix}:inbound:completed`);
    console.log(
      `machine: ${machine()}; ${result.sent} callbacks at ${RATE}/s for ${SECONDS}s, ${result.errors} errors; ` +
        `${finalSentAt.size} final events, ${counts.rows[0].n} call-log messages (${counts.rows[0].distinct_calls} distinct, max revision ${counts.rows[0].max_rev}); ` +
        `inbound jobs completed ${queued}; voice-service peak RSS ${voice.peakRssMb().toFixed(0)} MB, ticket-service ${ticket?.peakRssMb().toFixed(0) ?? '-'} MB`,
    );
    if (!visible.length) console.log('no call log became visible: is the ticket-service inbound consumer running?');
    printResult({
      callback_p99_ms: percentile(result.latencies, 99),
      visible_p99_ms: visible.length ? percentile(visible, 99) : 'n/a',
      callback_p50_ms: percentile(result.latencies, 50),
      visible_p50_ms: visible.length ? percentile(visible, 50) : 'n/a',
      errors: result.errors,
      visible_calls: `${visible.length}/${finalSentAt.size}`,
    });
    fake?.close();
  } finally {
    await stack.stopAll();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
