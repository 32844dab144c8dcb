/**
 * npm run bench:sla — SLA timers against the machine (#18): the built sla-worker and ticket-service
 * as separate processes, every figure compared with a minimal worker doing the same durable work on
 * the same Postgres and Redis, all in one run.
 *
 *  a. raw_breach_capacity: plain-pg clients, closed loop for BENCH_SLA_RAW_S (8) s over clocks
 *     already due, each breach one transaction — lock the clock row (`FOR UPDATE`, by ticket and
 *     metric as a timer finds it), record the breach (clock row and trail event, one statement) and
 *     write the sla.breached event and the escalation command as outbox rows; the best of
 *     BENCH_SLA_RAW_CLIENTS (16,32) clients. Runs before the services start (after VACUUM ANALYZE
 *     and a CHECKPOINT of the seeded tables, as before phase b); its outbox rows are deleted after.
 *  b. breach_capacity: BENCH_SLA_CAPACITY_BREACHES (8,000) clocks due at the same instant, timers
 *     armed ahead (as earlier clock changes would have); breaches/s from that instant until the
 *     last escalation (raise priority + realtime notice) is applied by ticket-service.
 *  c. raw_rearm_capacity: the re-arm's Redis work done minimally — per event, for the clock's two
 *     stages, BullMQ remove + add of the delayed timer (same ids, payloads and options) — from 100
 *     callers, closed loop for BENCH_SLA_RAW_S, on a queue no worker consumes.
 *  d. rearm_capacity: BENCH_SLA_CAPACITY_EVENTS (15,000) sla.changed events written to the outbox at
 *     once (tickets with a resolution clock warning in 20 h, due in 24 h, timers armed); events/s
 *     until sla-worker's oq_sla_rearm_seconds count has them all (relay → events.sla → re-arm).
 *  e. half load: clocks due at 0.5 × breach_capacity for BENCH_SLA_HALF_BREACH_S (60) s —
 *     breach_p99_late_ms (breached_at − due_at over the phase's clocks), and at the end of the phase
 *     (2 s after the last due time) breaches_at_end and escalations_applied; then sla.changed
 *     events at 0.5 × rearm_capacity for BENCH_SLA_HALF_REARM_S (30) s (one multi-row outbox insert
 *     per 50 ms, like concurrent committing transactions) — rearm_p99_ms, the upper bound of the
 *     oq_sla_rearm_seconds bucket holding the phase's 99th percentile.
 *  f. shutdown with jobs active: BENCH_SLA_SHUTDOWN_CLOCKS (3,000) clocks due at once and as many
 *     re-arm events; once breaches and escalations are flowing both services get SIGTERM.
 *     shutdown_failed_jobs counts the `job failed` lines both logged from then until they exited
 *     (an attempt that failed, retried or not — timers keep no failed set).
 * Profile, on stderr: per capacity phase, round trips (oq_db_round_trips_total) and CPU seconds
 * (/proc) per breach or event of sla-worker, ticket-service, postgres (split by client through
 * pg_stat_activity) and redis-server, and where the backlog sits once a second; with
 * BENCH_SLA_INSPECT=1 also each service's CPU profile of the phase (bench/support/inspector-profile.ts).
 * BENCH_SLA_TIMERS (0: skipped) > 0 adds redis_bytes_per_timer: that many armed timers on a
 * throwaway redis-server (production flags), INFO used_memory after − before, per timer.
 * Env: BENCH_SKIP_BUILD=1 to reuse dist/; BENCH_SLA_SERVICE_ROOT runs the services from another build.
 */
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildJob, JobName, jobOptions, QueueName, slaTimerJobId, TICKET_EVENTS, TicketCommand } from '@oq/contracts';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import * as pg from 'pg';
import {
  cpuSecondsOf,
  cpuTicksByPid,
  histogramBuckets,
  histogramQuantileMs,
  metricValue,
  scrapeMetrics,
} from '../support/proc';
import { PhaseProfiler, profilePhase } from '../support/inspector-profile';
import {
  BenchStack,
  closedLoop,
  machine,
  percentile,
  prepareStack,
  printResult,
  ServiceProcess,
  sleep,
} from '../support/stack';

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
/** Client counts the minimal breach worker is measured at; its capacity is the best of them. */
const RAW_CLIENTS = (process.env.BENCH_SLA_RAW_CLIENTS ?? '16,32').split(',').map(Number);
const RAW_S = num('BENCH_SLA_RAW_S', 8);
const RAW_REARM_CALLERS = 100;
const CAPACITY_BREACHES = num('BENCH_SLA_CAPACITY_BREACHES', 8000);
const CAPACITY_EVENTS = num('BENCH_SLA_CAPACITY_EVENTS', 15_000);
const HALF_BREACH_S = num('BENCH_SLA_HALF_BREACH_S', 60);
const HALF_REARM_S = num('BENCH_SLA_HALF_REARM_S', 30);
const SHUTDOWN_CLOCKS = num('BENCH_SLA_SHUTDOWN_CLOCKS', 3000);
const TIMERS = num('BENCH_SLA_TIMERS', 0);
/** Extra redis-server flags for the memory phase (e.g. "--hash-max-listpack-value 512"). */
const REDIS_ARGS = (process.env.BENCH_SLA_REDIS_ARGS ?? '').split(' ').filter(Boolean);
const RAW_QUEUE = 'bench.raw';
/** Another build to run the services from (a directory with dist/ and node_modules), for experiments. */
const SERVICE_ROOT = process.env.BENCH_SLA_SERVICE_ROOT || undefined;
/** BENCH_SLA_INSPECT=1: CPU profiles of both services over the capacity phases (DevTools protocol), summarised on stderr. */
const INSPECT = process.env.BENCH_SLA_INSPECT === '1';
const INSPECT_PORTS = { ticket: 9231, worker: 9232 };

async function profileServices(label: string): Promise<() => Promise<void>> {
  if (!INSPECT) return async () => undefined;
  const started: [string, PhaseProfiler][] = [];
  for (const [name, port] of Object.entries(INSPECT_PORTS))
    started.push([name, await profilePhase(port, `sla-${label}-${name}`)]);
  return async () => {
    for (const [name, p] of started) console.error(`${label} profile of ${name}: ${await p.stop()}`);
  };
}

interface Ctx {
  stack: BenchStack;
  pool: pg.Pool;
  teamId: string;
  contactId: string;
  policyId: string;
  escalation: TicketCommand['actions'];
}

interface SeededClock {
  id: string;
  ticket_id: string;
  due_at: Date;
}

/** `n` tickets each with an active first_reply clock, the first due at `firstDueMs`, then every `spacingMs`. */
async function seedDueClocks(
  ctx: Ctx,
  label: string,
  n: number,
  firstDueMs: number,
  spacingMs: number,
): Promise<SeededClock[]> {
  const { rows } = await ctx.pool.query(
    `WITH t AS (
       INSERT INTO tickets (team_id, requester_id, channel, subject)
       SELECT $1, $2, 'email', $7 || ' ' || g FROM generate_series(1, $3) g RETURNING id, number)
     INSERT INTO ticket_sla (ticket_id, metric, policy_id, state, target_seconds, started_at, due_at)
     SELECT id, 'first_reply', $4, 'active', 3600, now(),
            to_timestamp(($5::bigint + (row_number() OVER (ORDER BY number) - 1) * $6::double precision) / 1000.0)
       FROM t
     RETURNING id, ticket_id, due_at`,
    [ctx.teamId, ctx.contactId, n, ctx.policyId, firstDueMs, spacingMs, label],
  );
  return (rows as SeededClock[]).sort((a, b) => a.due_at.getTime() - b.due_at.getTime());
}

/** `n` tickets each with a running resolution clock (warning in 20 h, due in 24 h): what re-arm events move. */
async function seedResolutionClocks(ctx: Ctx, n: number): Promise<SeededClock[]> {
  const { rows } = await ctx.pool.query(
    `WITH t AS (
       INSERT INTO tickets (team_id, requester_id, channel, subject)
       SELECT $1, $2, 'email', 'rearm ' || g FROM generate_series(1, $3) g RETURNING id)
     INSERT INTO ticket_sla (ticket_id, metric, policy_id, state, target_seconds, started_at, due_at, warn_at)
     SELECT id, 'resolution', $4, 'active', 86400, now(), now() + interval '1 day', now() + interval '20 hours' FROM t
     RETURNING id, ticket_id, due_at`,
    [ctx.teamId, ctx.contactId, n, ctx.policyId],
  );
  return rows as SeededClock[];
}

/** Timers as sla-worker arms them (ids, payloads, options), in bulk. */
async function armTimers(
  queue: Queue,
  timers: { ticketId: string; metric: 'first_reply' | 'resolution'; stage: 'warning' | 'breach'; at: Date }[],
) {
  for (let i = 0; i < timers.length; i += 2000) {
    await queue.addBulk(
      timers.slice(i, i + 2000).map((t) => ({
        name: JobName.SlaTimer,
        data: buildJob(JobName.SlaTimer, {
          v: 1,
          ticketId: t.ticketId,
          metric: t.metric,
          stage: t.stage,
          dueAt: t.at.toISOString(),
        }),
        opts: jobOptions(JobName.SlaTimer, {
          jobId: slaTimerJobId(t.ticketId, t.metric, t.stage),
          delay: Math.max(0, t.at.getTime() - Date.now()),
        }),
      })),
    );
  }
}

const breachTimers = (clocks: SeededClock[]) =>
  clocks.map((c) => ({
    ticketId: c.ticket_id,
    metric: 'first_reply' as const,
    stage: 'breach' as const,
    at: c.due_at,
  }));

/** sla.changed events for these tickets as ticket-service's outbox rows (one multi-row INSERT per call). */
async function writeChangedEvents(ctx: Ctx, ticketIds: string[]) {
  const payloads = ticketIds.map((ticketId) =>
    JSON.stringify(
      buildJob(JobName.TicketEvent, {
        v: 1,
        eventId: randomUUID(),
        type: 'sla.changed',
        ticketId,
        teamId: ctx.teamId,
        assigneeId: null,
        occurredAt: new Date().toISOString(),
        data: {},
      }),
    ),
  );
  await ctx.pool.query(`INSERT INTO outbox (queue, job_name, payload) SELECT $1, $2, p FROM unnest($3::jsonb[]) AS p`, [
    TICKET_EVENTS,
    JobName.TicketEvent,
    payloads,
  ]);
}

async function counts(pool: pg.Pool): Promise<{ breached: number; applied: number }> {
  const { rows } = await pool.query(
    // The partial index of breached clocks awaiting fulfilment (the bench fulfils none): an index-only count.
    `SELECT (SELECT count(*)::int FROM ticket_sla WHERE state = 'breached' AND fulfilled_at IS NULL) AS breached,
            (SELECT count(*)::int FROM applied_ticket_commands) AS applied`,
  );
  return rows[0];
}

/** CPU seconds so far of the two services, postgres, redis-server and this process. */
function cpuSplit(worker: ServiceProcess, ticket: ServiceProcess) {
  return {
    worker: cpuSecondsOf((pid) => pid === worker.pid),
    ticket: cpuSecondsOf((pid) => pid === ticket.pid),
    postgres: cpuSecondsOf((_, comm) => comm.startsWith('postgres')),
    redis: cpuSecondsOf((_, comm) => comm.startsWith('redis-server')),
    bench: cpuSecondsOf((pid) => pid === process.pid),
  };
}

/**
 * Postgres CPU of a phase by who used it: each live backend's ticks, named by pg_stat_activity
 * (application_name, else the backend type: autovacuum, walwriter …). Ends of exited backends are
 * in "exited" (the postmaster's children time).
 */
function postgresByClient(pool: pg.Pool) {
  const isPg = (_: number, comm: string) => comm.startsWith('postgres');
  const before = cpuTicksByPid(isPg);
  const exited0 = cpuSecondsOf(isPg) - [...before.values()].reduce((a, b) => a + b, 0) / 100;
  return async (units: number, unit: string) => {
    const after = cpuTicksByPid(isPg);
    const exited = cpuSecondsOf(isPg) - [...after.values()].reduce((a, b) => a + b, 0) / 100 - exited0;
    const { rows } = await pool.query(
      `SELECT pid, coalesce(nullif(application_name, ''), backend_type) AS who FROM pg_stat_activity`,
    );
    const who = new Map<number, string>(rows.map((r: { pid: number; who: string }) => [r.pid, r.who]));
    const by = new Map<string, number>([['exited', exited]]);
    for (const [pid, ticks] of after) {
      const name = who.get(pid) ?? 'postmaster/other';
      by.set(name, (by.get(name) ?? 0) + (ticks - (before.get(pid) ?? 0)) / 100);
    }
    return [...by]
      .filter(([, s]) => s >= 0.05)
      .sort((a, b) => b[1] - a[1])
      .map(([name, s]) => `${name} ${((s / units) * 1000).toFixed(2)}`)
      .join(', ')
      .concat(` ms/${unit}`);
  };
}

/** Round trips and CPU of a phase, per unit of its work, as stderr lines. */
async function profile(pool: pg.Pool, worker: ServiceProcess, ticket: ServiceProcess) {
  const scrape = async () => ({
    worker: metricValue(await scrapeMetrics(worker.url), 'oq_db_round_trips_total'),
    ticket: metricValue(await scrapeMetrics(ticket.url), 'oq_db_round_trips_total'),
  });
  const trips0 = await scrape();
  const cpu0 = cpuSplit(worker, ticket);
  const pgSplit = postgresByClient(pool);
  return async (label: string, units: number, unit: string) => {
    const trips1 = await scrape();
    const cpu1 = cpuSplit(worker, ticket);
    const per = (a: number, b: number) => ((b - a) / units).toFixed(2);
    const cpu = (Object.keys(cpu1) as (keyof typeof cpu1)[])
      .map(
        (k) =>
          `${k} ${(cpu1[k] - cpu0[k]).toFixed(1)} s (${(((cpu1[k] - cpu0[k]) / units) * 1000).toFixed(2)} ms/${unit})`,
      )
      .join(', ');
    console.error(
      `${label}: round trips per ${unit}: sla-worker ${per(trips0.worker, trips1.worker)}, ticket-service ${per(trips0.ticket, trips1.ticket)}; CPU ${cpu}`,
    );
    console.error(`${label}: postgres CPU by client: ${await pgSplit(units, unit)}`);
  };
}

// ---- a. the minimal breach worker ----

async function rawBreachCapacity(ctx: Ctx, clocks: SeededClock[], clients: number): Promise<number> {
  const pool = new pg.Pool({ connectionString: ctx.stack.databaseUrl, max: clients, application_name: 'bench-raw' });
  let next = 0;
  let done = 0;
  const pgSplit = postgresByClient(ctx.pool);
  const cpu0 = cpuSecondsOf((pid) => pid === process.pid);
  const deadline = Date.now() + RAW_S * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = await pool.connect();
      try {
        while (Date.now() < deadline && next < clocks.length) {
          const clock = clocks[next++];
          await c.query('BEGIN');
          const { rows } = await c.query({
            name: 'raw_breach_lock',
            text: `SELECT s.id, s.due_at, p.escalation FROM ticket_sla s LEFT JOIN sla_policies p ON p.id = s.policy_id
                    WHERE s.ticket_id = $1 AND s.metric = 'first_reply' AND s.state = 'active' FOR UPDATE OF s`,
            values: [clock.ticket_id],
          });
          if (rows.length) {
            const row = rows[0] as { id: string; due_at: Date; escalation: { breach: TicketCommand['actions'] } };
            const now = new Date();
            const commandId = `sla-${row.id}-breach`;
            const event = buildJob(JobName.TicketEvent, {
              v: 1,
              eventId: randomUUID(),
              type: 'sla.breached',
              ticketId: clock.ticket_id,
              teamId: ctx.teamId,
              assigneeId: null,
              occurredAt: now.toISOString(),
              data: { slaId: row.id, metric: 'first_reply', dueAt: row.due_at.toISOString() },
            });
            const command = buildJob(JobName.TicketCommand, {
              v: 1,
              commandId,
              ticketId: clock.ticket_id,
              reason: 'SLA first reply breached',
              actions: row.escalation.breach,
              issuedAt: now.toISOString(),
            });
            // The breach on the clock row, its trail event and both outbox rows in one statement.
            await c.query({
              name: 'raw_breach_write',
              text: `WITH b AS (
                       UPDATE ticket_sla SET state = 'breached', breached_at = $2, version = version + 1, updated_at = now()
                        WHERE id = $1 RETURNING id, due_at),
                     e AS (
                       INSERT INTO ticket_sla_events (ticket_sla_id, kind, at, data)
                       SELECT id, 'breach', $2, jsonb_build_object('dueAt', due_at) FROM b)
                     INSERT INTO outbox (queue, job_name, job_id, payload)
                     SELECT $3, j.name, j.id, j.payload FROM b,
                            unnest($4::text[], $5::text[], $6::jsonb[]) AS j(name, id, payload)`,
              values: [
                row.id,
                now,
                RAW_QUEUE,
                [JobName.TicketEvent, JobName.TicketCommand],
                [null, commandId],
                [JSON.stringify(event), JSON.stringify(command)],
              ],
            });
          }
          await c.query('COMMIT');
          done++;
        }
      } finally {
        c.release();
      }
    }),
  );
  const rate = done / ((performance.now() - started) / 1000);
  const bench = ((cpuSecondsOf((pid) => pid === process.pid) - cpu0) / done) * 1000;
  console.error(
    `a. raw breach, ${clients} clients: ${rate.toFixed(0)}/s; CPU bench ${bench.toFixed(2)} ms/breach; postgres by client: ${await pgSplit(done, 'breach')}`,
  );
  // Nothing of it may reach the services: the outbox rows go, the clocks it did not reach stop.
  await ctx.pool.query(`DELETE FROM outbox WHERE queue = $1`, [RAW_QUEUE]);
  await ctx.pool.query(`UPDATE ticket_sla SET state = 'cancelled' WHERE id = ANY($1::uuid[]) AND state = 'active'`, [
    clocks.map((c) => c.id),
  ]);
  await pool.end();
  if (next >= clocks.length) console.error('a. raw breach: WARNING ran out of clocks before the deadline');
  return rate;
}

// ---- c. the minimal re-arm ----

async function rawRearmCapacity(ctx: Ctx): Promise<number> {
  const redis = new Redis(ctx.stack.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('bench-raw-sla', { connection: redis, prefix: ctx.stack.prefix });
  try {
    const tickets = Array.from({ length: 20_000 }, () => randomUUID());
    const warnAt = new Date(Date.now() + 20 * 3600_000);
    const dueAt = new Date(Date.now() + 24 * 3600_000);
    const stages = [
      ['warning', warnAt],
      ['breach', dueAt],
    ] as const;
    // Armed first, so each remove has a timer to remove (as a re-arm of a running clock does).
    for (let i = 0; i < tickets.length; i += 1000)
      await queue.addBulk(
        tickets.slice(i, i + 1000).flatMap((t) =>
          stages.map(([stage, at]) => ({
            name: JobName.SlaTimer,
            data: buildJob(JobName.SlaTimer, {
              v: 1,
              ticketId: t,
              metric: 'resolution',
              stage,
              dueAt: at.toISOString(),
            }),
            opts: jobOptions(JobName.SlaTimer, {
              jobId: slaTimerJobId(t, 'resolution', stage),
              delay: at.getTime() - Date.now(),
            }),
          })),
        ),
      );
    const isRedis = (_: number, comm: string) => comm.startsWith('redis-server');
    const isBench = (pid: number) => pid === process.pid;
    const cpu0 = { redis: cpuSecondsOf(isRedis), bench: cpuSecondsOf(isBench) };
    const r = await closedLoop({
      connections: RAW_REARM_CALLERS,
      durationMs: RAW_S * 1000,
      fire: async (i) => {
        const t = tickets[i % tickets.length];
        for (const [stage, at] of stages) {
          const jobId = slaTimerJobId(t, 'resolution', stage);
          await queue.remove(jobId);
          await queue.add(
            JobName.SlaTimer,
            buildJob(JobName.SlaTimer, { v: 1, ticketId: t, metric: 'resolution', stage, dueAt: at.toISOString() }),
            jobOptions(JobName.SlaTimer, { jobId, delay: at.getTime() - Date.now() }),
          );
        }
      },
    });
    if (r.errors) console.error(`c. raw re-arm: ${r.errors} errors`);
    const per = (a: number, b: number) => (((b - a) / r.completed) * 1000).toFixed(2);
    console.error(
      `c. raw re-arm: CPU redis ${per(cpu0.redis, cpuSecondsOf(isRedis))} ms/event, bench ${per(cpu0.bench, cpuSecondsOf(isBench))} ms/event`,
    );
    return r.rps;
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    redis.disconnect();
  }
}

/** Memory of armed timers on a redis-server of our own (production flags: AOF, noeviction). */
async function bytesPerTimer(): Promise<number> {
  const port = await new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'oq-bench-redis-'));
  const proc = spawn(
    'redis-server',
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
      ...['--appendonly', 'yes', '--maxmemory-policy', 'noeviction', '--save', ''],
      ...REDIS_ARGS,
    ],
    { stdio: 'ignore' },
  );
  const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null });
  const used = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  try {
    for (let i = 0; i < 100; i++)
      if (await redis.ping().catch(() => null)) break;
      else await sleep(50);
    const queue = new Queue(QueueName.Sla, { connection: redis, prefix: '{oq}' });
    // A first job creates the queue's fixed keys (meta, events stream) so they are not counted per timer.
    await queue.add(JobName.SlaTimer, { v: 1 }, { delay: 3_600_000, jobId: 'warmup' });
    await redis.call('MEMORY', 'PURGE').catch(() => undefined);
    const before = await used();
    const metrics = ['first_reply', 'next_reply', 'resolution'] as const;
    for (let i = 0; i < TIMERS; i += 2000) {
      const jobs = [];
      for (let j = i; j < Math.min(TIMERS, i + 2000); j++) {
        const ticketId = randomUUID();
        const stage = j % 2 ? 'warning' : 'breach';
        const dueAt = new Date(Date.now() + 3_600_000 + (j % 86_400) * 1000);
        jobs.push({
          name: JobName.SlaTimer,
          data: buildJob(JobName.SlaTimer, {
            v: 1,
            ticketId,
            metric: metrics[j % 3],
            stage,
            dueAt: dueAt.toISOString(),
          }),
          opts: jobOptions(JobName.SlaTimer, {
            jobId: slaTimerJobId(ticketId, metrics[j % 3], stage),
            delay: dueAt.getTime() - Date.now(),
          }),
        });
      }
      await queue.addBulk(jobs);
    }
    const after = await used();
    await queue.close();
    return (after - before) / TIMERS;
  } finally {
    redis.disconnect();
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bulk seeding leaves work for autovacuum; done before a measurement, not during it. */
async function vacuum(pool: pg.Pool) {
  await pool.query(`VACUUM (ANALYZE) tickets, ticket_sla, ticket_sla_events, outbox, applied_ticket_commands`);
  // Its writes flushed now, not by a checkpoint in the middle of the measurement.
  await pool.query(`CHECKPOINT`);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  console.error(`WARNING: ${what} not reached in ${timeoutMs} ms`);
  return false;
}

async function main() {
  const memory = TIMERS > 0 ? await bytesPerTimer() : undefined;
  if (memory !== undefined) console.error(`memory: ${memory.toFixed(0)} bytes per timer over ${TIMERS} timers`);

  const stack = await prepareStack('sla');
  const pool = stack.pool;
  const escalation: TicketCommand['actions'] = [
    { kind: 'raise_priority', priority: 'urgent' },
    { kind: 'notify', message: 'SLA breached' },
  ];
  const [{ id: teamId }] = (await pool.query(`INSERT INTO teams (name) VALUES ('Payments') RETURNING id`)).rows;
  const [{ id: contactId }] = (await pool.query(`INSERT INTO contacts (name) VALUES ('Bench') RETURNING id`)).rows;
  const [{ id: policyId }] = (
    await pool.query(
      `INSERT INTO sla_policies (name, position, targets, escalation) VALUES ('Bench', 1, '{}', $1::jsonb) RETURNING id`,
      [JSON.stringify({ breach: escalation })],
    )
  ).rows;
  const ctx: Ctx = { stack, pool, teamId, contactId, policyId, escalation };
  const slaQueue = new Queue(QueueName.Sla, { connection: stack.redis, prefix: stack.prefix });
  const queues = [QueueName.Sla, QueueName.SlaEvents, QueueName.TicketCommands].map(
    (n) => new Queue(n, { connection: stack.redis, prefix: stack.prefix }),
  );
  let logLines: string[] = [];
  const onLine = (line: string) => logLines.push(line);
  const services: ServiceProcess[] = [];
  try {
    // a. Before the services start, on clocks of its own (due in the past).
    let rawBreach = 0;
    for (const clients of RAW_CLIENTS) {
      const rawClocks = await seedDueClocks(ctx, 'raw', RAW_S * 4000, Date.now() - 60_000, 0);
      await vacuum(pool);
      rawBreach = Math.max(rawBreach, await rawBreachCapacity(ctx, rawClocks, clients));
    }
    console.error(`a. raw breach: ${rawBreach.toFixed(0)} breaches/s (best of ${RAW_CLIENTS.join(', ')} clients)`);

    // The re-arm phases' clocks and their timers, armed as the clocks' last change left them.
    const rearmClocks = await seedResolutionClocks(ctx, CAPACITY_EVENTS);
    await armTimers(
      slaQueue,
      rearmClocks.flatMap((c) => [
        {
          ticketId: c.ticket_id,
          metric: 'resolution' as const,
          stage: 'warning' as const,
          at: new Date(c.due_at.getTime() - 4 * 3600_000),
        },
        { ticketId: c.ticket_id, metric: 'resolution' as const, stage: 'breach' as const, at: c.due_at },
      ]),
    );

    // Ports of our own, so this bench can run while another one holds the harness defaults.
    const inspect = (port: number): Record<string, string> =>
      INSPECT ? { NODE_OPTIONS: `--inspect=127.0.0.1:${port}` } : {};
    const ticket = await stack.start(
      'ticket-service',
      { DB_POOL_SIZE: '10', TICKET_SERVICE_PORT: '3120', ...inspect(INSPECT_PORTS.ticket) },
      SERVICE_ROOT,
      { onLine },
    );
    services.push(ticket);
    const worker = await stack.start(
      'sla-worker',
      { DB_POOL_SIZE: '20', SLA_CONCURRENCY: '100', SLA_WORKER_PORT: '3121', ...inspect(INSPECT_PORTS.worker) },
      SERVICE_ROOT,
      { onLine },
    );
    services.push(worker);

    // b. Closed loop: every clock due at one instant, measured until the last escalation is applied.
    const capDue = Date.now() + 12_000;
    const capClocks = await seedDueClocks(ctx, 'capacity', CAPACITY_BREACHES, capDue, 0);
    await armTimers(slaQueue, breachTimers(capClocks));
    await vacuum(pool);
    if (Date.now() > capDue) console.error('b. WARNING setup overran the due time');
    const base = await counts(pool);
    await sleep(capDue - Date.now());
    const prof = await profile(pool, worker, ticket);
    const cpuProfiles = await profileServices('b');
    let breachedAt = 0;
    // Where the backlog sits, once a second: timers due, outbox rows not yet relayed, commands queued.
    const commandsQueue = queues[2];
    let lastTrace = 0;
    const backlog: string[] = [];
    await until(
      'b. all escalations applied',
      async () => {
        if (Date.now() - lastTrace >= 1000) {
          lastTrace = Date.now();
          const [sla, commands, outbox] = await Promise.all([
            slaQueue.getJobCounts('wait', 'active', 'delayed'),
            commandsQueue.getJobCounts('wait', 'active'),
            pool.query(`SELECT count(*)::int AS n FROM outbox`),
          ]);
          backlog.push(
            `${((Date.now() - capDue) / 1000).toFixed(0)}s sla ${sla.wait}+${sla.active}+${sla.delayed}d outbox ${outbox.rows[0].n} commands ${commands.wait}+${commands.active}`,
          );
        }
        const c = await counts(pool);
        if (!breachedAt && c.breached - base.breached >= CAPACITY_BREACHES) breachedAt = Date.now();
        return c.applied - base.applied >= CAPACITY_BREACHES;
      },
      300_000,
      200,
    );
    const capSeconds = (Date.now() - capDue) / 1000;
    const breachCapacity = CAPACITY_BREACHES / capSeconds;
    console.error(
      `b. breach capacity: ${CAPACITY_BREACHES} breaches and escalations in ${capSeconds.toFixed(1)} s = ${breachCapacity.toFixed(0)}/s` +
        ` (all breached after ${((breachedAt - capDue) / 1000).toFixed(1)} s)`,
    );
    await prof('b. breach capacity', CAPACITY_BREACHES, 'breach');
    await cpuProfiles();
    console.error(`b. backlog (waiting+active): ${backlog.join('; ')}`);

    // c. The minimal re-arm, on a queue of its own.
    const rawRearm = await rawRearmCapacity(ctx);
    console.error(
      `c. raw re-arm: ${rawRearm.toFixed(0)} events/s (2 × remove + add each) from ${RAW_REARM_CALLERS} callers`,
    );

    // d. Closed loop: a backlog of events through the outbox, until sla-worker has re-armed them all.
    const rearmCount = async () => metricValue(await scrapeMetrics(worker.url), 'oq_sla_rearm_seconds_count');
    const rearm0 = await rearmCount();
    const prof2 = await profile(pool, worker, ticket);
    const cpuProfiles2 = await profileServices('d');
    const t0 = Date.now();
    for (let i = 0; i < rearmClocks.length; i += 1000)
      await writeChangedEvents(
        ctx,
        rearmClocks.slice(i, i + 1000).map((c) => c.ticket_id),
      );
    const eventsQueue = queues[1];
    const backlog2: string[] = [];
    let lastTrace2 = 0;
    await until(
      'd. all events re-armed',
      async () => {
        if (Date.now() - lastTrace2 >= 1000) {
          lastTrace2 = Date.now();
          const [events, outbox] = await Promise.all([
            eventsQueue.getJobCounts('wait', 'active'),
            pool.query(`SELECT count(*)::int AS n FROM outbox`),
          ]);
          backlog2.push(
            `${((Date.now() - t0) / 1000).toFixed(0)}s outbox ${outbox.rows[0].n} events.sla ${events.wait}+${events.active}`,
          );
        }
        return (await rearmCount()) - rearm0 >= CAPACITY_EVENTS;
      },
      300_000,
      200,
    );
    const rearmSeconds = (Date.now() - t0) / 1000;
    const rearmCapacity = ((await rearmCount()) - rearm0) / rearmSeconds;
    console.error(
      `d. re-arm capacity: ${CAPACITY_EVENTS} events in ${rearmSeconds.toFixed(1)} s = ${rearmCapacity.toFixed(0)}/s`,
    );
    await prof2('d. re-arm capacity', CAPACITY_EVENTS, 'event');
    await cpuProfiles2();
    console.error(`d. backlog (waiting+active): ${backlog2.join('; ')}`);

    // e1. Half of the breach capacity, spread over the phase.
    const breachRate = breachCapacity / 2;
    const halfN = Math.max(1, Math.round(breachRate * HALF_BREACH_S));
    const halfStart = Date.now() + 10_000;
    const halfClocks = await seedDueClocks(ctx, 'half', halfN, halfStart, 1000 / breachRate);
    await armTimers(slaQueue, breachTimers(halfClocks));
    if (Date.now() > halfStart) console.error('e. WARNING setup overran the lead time; early breaches are late');
    const base2 = await counts(pool);
    const halfEnd = halfClocks[halfClocks.length - 1].due_at.getTime() + 2000;
    await sleep(halfEnd - Date.now());
    const atEnd = await counts(pool);
    const breachesAtEnd = atEnd.breached - base2.breached;
    const escalationsApplied = atEnd.applied - base2.applied;
    await until(
      'e. every half-load clock breached',
      async () => (await counts(pool)).breached - base2.breached >= halfN,
      60_000,
      500,
    );
    const late = (
      await pool.query(
        `SELECT extract(epoch FROM breached_at - due_at) * 1000 AS ms FROM ticket_sla
          WHERE id = ANY($1::uuid[]) AND breached_at IS NOT NULL`,
        [halfClocks.map((c) => c.id)],
      )
    ).rows.map((r: { ms: string }) => Number(r.ms));
    const missing = halfN - late.length;
    const breachP99 = missing > halfN * 0.01 ? Infinity : percentile(late, 99);
    console.error(
      `e. half load ${breachRate.toFixed(0)} breaches/s for ${HALF_BREACH_S} s: ${late.length}/${halfN} breached, late p50 ${percentile(late, 50).toFixed(0)} ms, ` +
        `p99 ${breachP99.toFixed(0)} ms, max ${Math.max(...late).toFixed(0)} ms; at the end of the phase ${breachesAtEnd} breaches, ${escalationsApplied} escalations applied`,
    );

    // e2. Half of the re-arm capacity, open loop through the outbox.
    const eventRate = rearmCapacity / 2;
    const histBefore = histogramBuckets(await scrapeMetrics(worker.url), 'oq_sla_rearm_seconds');
    const rearm1 = await rearmCount();
    const tick = 50;
    const perTick = (eventRate * tick) / 1000;
    const halfEvents = Math.round(eventRate * HALF_REARM_S);
    const t3 = Date.now();
    const inserts: Promise<void>[] = [];
    let sent = 0;
    for (let k = 0; sent < halfEvents; k++) {
      const wait = t3 + k * tick - Date.now();
      if (wait > 0) await sleep(wait);
      const upTo = Math.min(halfEvents, Math.round((k + 1) * perTick));
      const batch: string[] = [];
      for (; sent < upTo; sent++) batch.push(rearmClocks[sent % rearmClocks.length].ticket_id);
      if (batch.length)
        inserts.push(
          writeChangedEvents(ctx, batch).catch((err) => console.error(`outbox insert failed: ${err.message}`)),
        );
    }
    await Promise.all(inserts);
    await until('e. half-load events re-armed', async () => (await rearmCount()) - rearm1 >= halfEvents, 60_000, 200);
    const rearmP99 = histogramQuantileMs(
      histBefore,
      histogramBuckets(await scrapeMetrics(worker.url), 'oq_sla_rearm_seconds'),
      0.99,
    );
    const rearmP50 = histogramQuantileMs(
      histBefore,
      histogramBuckets(await scrapeMetrics(worker.url), 'oq_sla_rearm_seconds'),
      0.5,
    );
    console.error(
      `e. half load ${eventRate.toFixed(0)} events/s for ${HALF_REARM_S} s: ${(await rearmCount()) - rearm1}/${halfEvents} re-armed, p50 ≤ ${rearmP50} ms, p99 ≤ ${rearmP99} ms`,
    );

    // f. Shutdown while timers, escalations and re-arms are in flight.
    const failedBefore = await Promise.all(queues.map((q) => q.getFailedCount()));
    const base3 = await counts(pool);
    const downClocks = await seedDueClocks(ctx, 'shutdown', SHUTDOWN_CLOCKS, Date.now() - 1000, 0);
    await armTimers(slaQueue, breachTimers(downClocks));
    await writeChangedEvents(
      ctx,
      rearmClocks.slice(0, SHUTDOWN_CLOCKS).map((c) => c.ticket_id),
    );
    await until(
      'f. breaches and escalations flowing',
      async () => {
        const c = await counts(pool);
        return c.breached - base3.breached >= SHUTDOWN_CLOCKS / 10 && c.applied - base3.applied >= SHUTDOWN_CLOCKS / 20;
      },
      60_000,
      20,
    );
    const active = await Promise.all(queues.map((q) => q.getActiveCount()));
    logLines = [];
    const stopStarted = Date.now();
    const stopTimes = await Promise.all(
      services.map(async (s) => {
        await s.stop();
        return (Date.now() - stopStarted) / 1000;
      }),
    );
    services.length = 0;
    const failedLines = logLines.filter((l) => l.includes('job failed'));
    const closedLines = logLines.filter((l) => l.includes('Connection is closed'));
    const failedAfter = await Promise.all(queues.map((q) => q.getFailedCount()));
    const activeLeft = await Promise.all(queues.map((q) => q.getActiveCount()));
    const shutdownFailed = failedLines.length;
    console.error(
      `f. shutdown with ${active.join('/')} jobs active (sla/events.sla/ticket.commands): stopped in ${stopTimes.map((s) => s.toFixed(1)).join(' / ')} s ` +
        `(ticket-service / sla-worker; the harness kills at 15 s); ${failedLines.length} "job failed" lines, ${closedLines.length} "Connection is closed" lines, ` +
        `failed sets +${failedAfter.map((n, i) => n - failedBefore[i]).join('/+')}, left active ${activeLeft.join('/')}`,
    );
    for (const l of [...failedLines, ...closedLines].slice(0, 5)) console.error(`   ${l.slice(0, 300)}`);

    console.error(`machine: ${machine()}`);
    printResult({
      ...(memory !== undefined ? { timers: TIMERS, redis_bytes_per_timer: Math.round(memory) } : {}),
      breach_capacity: Math.round(breachCapacity),
      raw_breach_capacity: Math.round(rawBreach),
      breach_ratio: (breachCapacity / rawBreach).toFixed(2),
      rearm_capacity: Math.round(rearmCapacity),
      raw_rearm_capacity: Math.round(rawRearm),
      rearm_ratio: (rearmCapacity / rawRearm).toFixed(2),
      breach_p99_late_ms: Number.isFinite(breachP99) ? Math.round(breachP99) : 'Infinity',
      rearm_p99_ms: Number.isFinite(rearmP99) ? rearmP99 : 'Infinity',
      escalations_applied: escalationsApplied,
      breaches_at_end: breachesAtEnd,
      shutdown_failed_jobs: shutdownFailed,
    });
  } finally {
    await Promise.all(services.map((s) => s.stop()));
    await Promise.all([...queues, slaQueue].map((q) => q.close()));
    await stack.stopAll();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
