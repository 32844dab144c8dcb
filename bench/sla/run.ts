/**
 * npm run bench:sla — SLA timers against the built sla-worker and ticket-service
 * running as separate processes.
 *
 *  1. redis_bytes_per_timer: BENCH_SLA_TIMERS (1,000,000) armed timers — delayed
 *     BullMQ jobs with the worker's ids, payloads and options — added to a
 *     throwaway redis-server; INFO memory used_memory after minus before, per timer.
 *  2. breach_p99_late_ms: BENCH_SLA_DUE (100,000) active clocks due spread over
 *     BENCH_SLA_WINDOW_S (600; pass 60 to scale down) with escalation on
 *     (raise priority + realtime notice, applied by ticket-service): breached_at −
 *     due_at over all clocks, p99. Their timers are armed up front with the
 *     worker's own ids and payloads (as earlier clock changes would have).
 *  3. rearm_p99_ms: BENCH_SLA_EVENT_RATE (1,000) sla.changed events/s for
 *     BENCH_SLA_EVENT_S (60) s written to the outbox as ticket-service commits
 *     them; relay → sla queue → worker re-arms. Latency is the worker's
 *     oq_sla_rearm_seconds histogram (event occurredAt → timers armed), reported
 *     as the upper bound of the bucket holding the 99th percentile.
 * Env: BENCH_SKIP_BUILD=1 to reuse dist/.
 */
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildJob, JobName, jobOptions, QueueName, slaTimerJobId, TICKET_EVENTS } from '@oq/contracts';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { machine, percentile, prepareStack, printResult, sleep } from '../support/stack';

const TIMERS = Number(process.env.BENCH_SLA_TIMERS ?? 1_000_000);
const DUE = Number(process.env.BENCH_SLA_DUE ?? 100_000);
const WINDOW_S = Number(process.env.BENCH_SLA_WINDOW_S ?? 600);
const EVENT_RATE = Number(process.env.BENCH_SLA_EVENT_RATE ?? 1000);
const EVENT_S = Number(process.env.BENCH_SLA_EVENT_S ?? 60);
/** Extra redis-server flags for phase 1 (e.g. "--hash-max-listpack-value 512" to compare encodings). */
const REDIS_ARGS = (process.env.BENCH_SLA_REDIS_ARGS ?? '').split(' ').filter(Boolean);
/** BENCH_SLA_ONLY_MEMORY=1 runs phase 1 alone. */
const ONLY_MEMORY = process.env.BENCH_SLA_ONLY_MEMORY === '1';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function usedMemory(r: Redis): Promise<number> {
  const info = await r.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

/** Phase 1: memory of armed timers on a redis-server of our own (production flags: AOF, noeviction). */
async function bytesPerTimer(): Promise<number> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'oq-bench-redis-'));
  const proc = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--maxmemory-policy',
      'noeviction',
      '--save',
      '',
      ...REDIS_ARGS,
    ],
    { stdio: 'ignore' },
  );
  const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null });
  try {
    for (let i = 0; i < 100; i++)
      if (await redis.ping().catch(() => null)) break;
      else await sleep(50);
    const queue = new Queue(QueueName.Sla, { connection: redis, prefix: '{oq}' });
    await queue.waitUntilReady();
    // A first job creates the queue's fixed keys (meta, events stream) so they are not counted per timer.
    await queue.add(JobName.SlaTimer, { v: 1 }, { delay: 3_600_000, jobId: 'warmup' });
    await redis.call('MEMORY', 'PURGE').catch(() => undefined);
    const before = await usedMemory(redis);
    const t0 = Date.now();
    const metrics = ['first_reply', 'next_reply', 'resolution'] as const;
    const BATCH = 2000;
    for (let i = 0; i < TIMERS; i += BATCH) {
      const jobs = [];
      for (let j = i; j < Math.min(TIMERS, i + BATCH); j++) {
        const ticketId = randomUUID();
        const metric = metrics[j % 3];
        const stage = j % 2 ? 'warning' : 'breach';
        const dueAt = new Date(Date.now() + 3_600_000 + (j % 86_400) * 1000);
        jobs.push({
          name: JobName.SlaTimer,
          data: buildJob(JobName.SlaTimer, { v: 1, ticketId, metric, stage, dueAt: dueAt.toISOString() }),
          opts: jobOptions(JobName.SlaTimer, {
            jobId: slaTimerJobId(ticketId, metric, stage),
            delay: dueAt.getTime() - Date.now(),
          }),
        });
      }
      await queue.addBulk(jobs);
    }
    const after = await usedMemory(redis);
    const sample = slaTimerJobId(randomUUID(), 'first_reply', 'breach');
    await queue.add(
      JobName.SlaTimer,
      buildJob(JobName.SlaTimer, {
        v: 1,
        ticketId: randomUUID(),
        metric: 'first_reply',
        stage: 'breach',
        dueAt: new Date().toISOString(),
      }),
      jobOptions(JobName.SlaTimer, { jobId: sample, delay: 3_600_000 }),
    );
    console.error(
      `phase 1: one job hash = ${await redis.call('MEMORY', 'USAGE', `{oq}:sla:${sample}`)} bytes; fields ${JSON.stringify(await redis.hgetall(`{oq}:sla:${sample}`))}`,
    );
    const delayed = await queue.getDelayedCount();
    console.error(
      `phase 1: ${delayed} delayed timers in ${((Date.now() - t0) / 1000).toFixed(1)} s; used_memory ${before} → ${after}`,
    );
    await queue.close();
    return (after - before) / TIMERS;
  } finally {
    redis.disconnect();
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

function p99FromHistogram(metricsText: string, name: string): number {
  const buckets = [...metricsText.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"[^}]*\\} (\\d+)`, 'gm'))].map(
    (m) => [m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])] as const,
  );
  const total = buckets.find((b) => b[0] === Infinity)?.[1] ?? 0;
  const bound = buckets.find((b) => b[1] >= total * 0.99);
  return bound ? bound[0] * 1000 : NaN;
}

async function main() {
  const bytes = await bytesPerTimer();
  console.error(`phase 1: ${bytes.toFixed(0)} bytes per timer`);
  if (ONLY_MEMORY) return printResult({ timers: TIMERS, redis_bytes_per_timer: Math.round(bytes) });

  const stack = await prepareStack('sla');
  try {
    const pool = stack.pool;
    const [{ id: teamId }] = (await pool.query(`INSERT INTO teams (name) VALUES ('Payments') RETURNING id`)).rows;
    const [{ id: contactId }] = (await pool.query(`INSERT INTO contacts (name) VALUES ('Bench') RETURNING id`)).rows;
    const [{ id: policyId }] = (
      await pool.query(
        `INSERT INTO sla_policies (name, position, targets, escalation) VALUES ('Bench', 1, '{}', $1::jsonb) RETURNING id`,
        [
          JSON.stringify({
            breach: [
              { kind: 'raise_priority', priority: 'urgent' },
              { kind: 'notify', message: 'SLA breached' },
            ],
          }),
        ],
      )
    ).rows;

    // Phase 2: clocks due over the window, starting after a lead time for setup.
    const lead = 20_000;
    const start = Date.now() + lead;
    const t0 = Date.now();
    await pool.query(
      `WITH t AS (
         INSERT INTO tickets (team_id, requester_id, channel, subject)
         SELECT $1, $2, 'email', 'bench ' || g FROM generate_series(1, $3) g RETURNING id, number)
       INSERT INTO ticket_sla (ticket_id, metric, policy_id, state, target_seconds, started_at, due_at)
       SELECT id, 'first_reply', $4, 'active', 3600, now(),
              to_timestamp(($5::bigint + (row_number() OVER (ORDER BY number) - 1) * $6::double precision) / 1000.0)
         FROM t`,
      [teamId, contactId, DUE, policyId, start, (WINDOW_S * 1000) / DUE],
    );
    const clocks = (
      await pool.query(
        `SELECT ticket_id, due_at FROM ticket_sla WHERE metric = 'first_reply' AND state = 'active' ORDER BY due_at`,
      )
    ).rows as { ticket_id: string; due_at: Date }[];
    const armQueue = new Queue(QueueName.Sla, { connection: stack.redis, prefix: stack.prefix });
    for (let i = 0; i < clocks.length; i += 2000) {
      await armQueue.addBulk(
        clocks.slice(i, i + 2000).map((c) => ({
          name: JobName.SlaTimer,
          data: buildJob(JobName.SlaTimer, {
            v: 1,
            ticketId: c.ticket_id,
            metric: 'first_reply',
            stage: 'breach',
            dueAt: c.due_at.toISOString(),
          }),
          opts: jobOptions(JobName.SlaTimer, {
            jobId: slaTimerJobId(c.ticket_id, 'first_reply', 'breach'),
            delay: c.due_at.getTime() - Date.now(),
          }),
        })),
      );
    }
    console.error(`phase 2: ${clocks.length} clocks and timers ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (Date.now() > start) console.error('phase 2: WARNING setup overran the lead time; early breaches are late');

    // Ports of our own, so this bench can run while another one holds the harness defaults.
    await stack.start('ticket-service', { DB_POOL_SIZE: '10', TICKET_SERVICE_PORT: '3120' });
    const worker = await stack.start('sla-worker', {
      DB_POOL_SIZE: '20',
      SLA_CONCURRENCY: '100',
      SLA_WORKER_PORT: '3121',
    });
    const end = start + WINDOW_S * 1000;
    while (Date.now() < end + 5000) {
      await sleep(5000);
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ticket_sla WHERE state = 'breached'`);
      console.error(`phase 2: ${rows[0].n}/${DUE} breached`);
      if (rows[0].n >= DUE) break;
    }
    const late = (
      await pool.query(
        `SELECT extract(epoch FROM breached_at - due_at) * 1000 AS ms FROM ticket_sla WHERE metric = 'first_reply' AND breached_at IS NOT NULL`,
      )
    ).rows.map((r: { ms: string }) => Number(r.ms));
    const missing = DUE - late.length;
    const breachP99 = missing > DUE * 0.01 ? Infinity : percentile(late, 99);
    const escalated = (await pool.query(`SELECT count(*)::int AS n FROM applied_ticket_commands`)).rows[0].n as number;
    console.error(
      `phase 2: ${late.length} breaches, p50 ${percentile(late, 50).toFixed(0)} ms, p99 ${breachP99.toFixed(0)} ms, max ${Math.max(...late).toFixed(0)} ms late; ${escalated} escalations applied so far`,
    );

    // Phase 3: sla.changed events through the outbox at a fixed rate.
    const N = EVENT_RATE * EVENT_S;
    await pool.query(
      `WITH t AS (
         INSERT INTO tickets (team_id, requester_id, channel, subject)
         SELECT $1, $2, 'email', 'rearm ' || g FROM generate_series(1, $3) g RETURNING id)
       INSERT INTO ticket_sla (ticket_id, metric, policy_id, state, target_seconds, started_at, due_at, warn_at)
       SELECT id, 'resolution', $4, 'active', 86400, now(), now() + interval '1 day', now() + interval '20 hours' FROM t`,
      [teamId, contactId, N, policyId],
    );
    const ids = (
      await pool.query(`SELECT ticket_id FROM ticket_sla WHERE metric = 'resolution' ORDER BY ticket_id`)
    ).rows.map((r: { ticket_id: string }) => r.ticket_id);
    const before = p99Count(await (await fetch(`${worker.url}/metrics`)).text());
    const t3 = Date.now();
    const tick = 50; // one multi-row outbox insert per 50 ms, like concurrent committing transactions
    const perTick = (EVENT_RATE * tick) / 1000;
    for (let i = 0; i < N; i += perTick) {
      const due = t3 + (i / EVENT_RATE) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      const batch = ids.slice(i, i + perTick);
      const params: unknown[] = [];
      const values = batch.map((ticketId, k) => {
        params.push(
          JSON.stringify(
            buildJob(JobName.TicketEvent, {
              v: 1,
              eventId: randomUUID(),
              type: 'sla.changed',
              ticketId,
              teamId,
              assigneeId: null,
              occurredAt: new Date().toISOString(),
              data: {},
            }),
          ),
        );
        return `('${TICKET_EVENTS}', '${JobName.TicketEvent}', $${k + 1}::jsonb)`;
      });
      void pool
        .query(`INSERT INTO outbox (queue, job_name, payload) VALUES ${values.join(', ')}`, params)
        .catch((err) => console.error(`outbox insert failed: ${err.message}`));
    }
    const sentSeconds = (Date.now() - t3) / 1000;
    // Wait for the worker to drain.
    for (let i = 0; i < 60; i++) {
      const text = await (await fetch(`${worker.url}/metrics`)).text();
      if (p99Count(text) - before >= N) break;
      await sleep(1000);
    }
    const text = await (await fetch(`${worker.url}/metrics`)).text();
    const handled = p99Count(text) - before;
    const rearmP99 = p99FromHistogram(text, 'oq_sla_rearm_seconds');
    const armed = await armQueue.getDelayedCount();
    console.error(
      `phase 3: ${N} events in ${sentSeconds.toFixed(1)} s, ${handled} handled, ${armed} delayed timers now armed; rearm p99 ≤ ${rearmP99} ms`,
    );
    await armQueue.close();

    console.error(`machine: ${machine()}; phase 2 window ${WINDOW_S} s for ${DUE} timers`);
    printResult({
      timers: TIMERS,
      redis_bytes_per_timer: Math.round(bytes),
      due_timers: DUE,
      due_window_s: WINDOW_S,
      breach_p99_late_ms: Math.round(breachP99),
      events_per_s: Math.round(handled / Math.max(sentSeconds, EVENT_S)),
      rearm_p99_ms: rearmP99,
    });
  } finally {
    await stack.stopAll();
  }
}

/** Events handled so far (the rearm histogram's count; it includes phase 2's none). */
function p99Count(text: string): number {
  const m = /^oq_sla_rearm_seconds_count(?:\{[^}]*\})? (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
