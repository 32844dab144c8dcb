/**
 * npm run bench:queue — GET /v1/queue against the built ticket-service (a separate process)
 * over 1,000,000 tickets seeded with SQL: 50,000 not solved/closed, 20 teams, 50 tags.
 *
 * Open-loop BENCH_RATE (300) requests/s for BENCH_SECONDS (30) as a non-admin agent in
 * two teams, cycling over 10 filter mixes (incl. a second page by cursor). Latency is
 * measured from each request's intended send time (coordinated omission corrected).
 * Against the machine, in the same run (#18): `max_rps`, the most the endpoint answers closed-loop
 * from BENCH_CONNECTIONS (32) callers for BENCH_MAX_SECONDS (10), beside `raw_max_rps`, the same
 * closed loop against bench/queue/raw-server.ts (Fastify + pg running the repository's own
 * statement, same JSON — checked equal for every mix before measuring); `max_ratio` = max / raw.
 * Then open-loop at `half_rate` = max_rps / 2 for BENCH_SECONDS: `half_rate_p99_ms`.
 * Env: BENCH_TICKETS (1000000), BENCH_OPEN (50000), BENCH_SKIP_BUILD=1 to reuse dist/.
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { hashPassword } from '../../apps/ticket-service/src/auth/password';
import { freePort } from '../../test/support/redis-server';
import { ROOT, closedLoop, machine, openLoop, percentile, prepareStack, printResult, sleep } from '../support/stack';
import { loginToken } from '../../apps/ticket-service/src/auth/auth.testing';

const RATE = Number(process.env.BENCH_RATE ?? 300);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const TICKETS = Number(process.env.BENCH_TICKETS ?? 1_000_000);
const OPEN = Number(process.env.BENCH_OPEN ?? 50_000);
const TEAMS = 20;
const TAGS = 50;
const AGENTS = 60;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 10);

type Page = { items: { id: string }[]; nextCursor: string | null };

/** Starts the raw baseline server as its own process (as the service is), resolved once it listens. */
async function startRawServer(env: NodeJS.ProcessEnv): Promise<() => void> {
  const child = spawn(process.execPath, [join(ROOT, 'scripts/run-ts.cjs'), join(ROOT, 'bench/queue/raw-server.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    child.on('exit', (code) => reject(new Error(`raw queue server exited ${code}`)));
  });
  return () => child.kill('SIGTERM');
}

async function main() {
  const stack = await prepareStack('queue');
  try {
    const pool = stack.pool;
    const t0 = Date.now();
    await pool.query(`SELECT setseed(0.42)`);
    await pool.query(`INSERT INTO teams (name) SELECT 'team ' || g FROM generate_series(1, $1) g`, [TEAMS]);
    const password = 'bench-agent-password';
    const hash = await hashPassword(password);
    await pool.query(
      `INSERT INTO agents (email, name, password_hash, role)
       SELECT 'agent' || g || '@bench.local', 'Agent ' || g, $2, 'agent' FROM generate_series(1, $1) g`,
      [AGENTS, hash],
    );
    // Three agents per team; the measured agent (agent1) is in teams 1 and 2.
    await pool.query(`
      INSERT INTO agent_teams (agent_id, team_id)
      SELECT a.id, t.id FROM agents a JOIN teams t
        ON t.name = 'team ' || (1 + (substring(a.email from 'agent(\\d+)@')::int - 1) % ${TEAMS})
      WHERE a.role = 'agent'
      UNION SELECT a.id, t.id FROM agents a, teams t WHERE a.email = 'agent1@bench.local' AND t.name = 'team 2'`);
    await pool.query(`INSERT INTO contacts (name) SELECT 'Customer ' || g FROM generate_series(1, 20000) g`);

    // Bulk load without the secondary indexes, then build them: minutes faster than maintaining them row by row.
    const { rows: indexes } = await pool.query(
      `SELECT i.indexname, i.indexdef FROM pg_indexes i
        JOIN pg_class c ON c.relname = i.indexname JOIN pg_index x ON x.indexrelid = c.oid
        WHERE i.tablename = 'tickets' AND NOT x.indisunique AND NOT x.indisprimary`,
    );
    for (const ix of indexes) await pool.query(`DROP INDEX ${ix.indexname}`);
    await pool.query(
      `WITH teams AS (SELECT array_agg(id ORDER BY name) AS ids FROM teams),
            agents AS (SELECT array_agg(a.id ORDER BY a.email) AS ids FROM agents a WHERE role = 'agent'),
            contacts AS (SELECT array_agg(id) AS ids FROM contacts),
            cats AS (SELECT array_agg(id) AS ids FROM categories)
       INSERT INTO tickets (subject, status, priority, type, category_id, tags, team_id, assignee_id, requester_id,
                            channel, next_due_at, created_at, updated_at)
       SELECT 'Ticket ' || g,
              CASE WHEN g <= $2 THEN (ARRAY['new','open','pending','on_hold'])[1 + (g % 4)]
                   WHEN g % 3 = 0 THEN 'solved' ELSE 'closed' END,
              (ARRAY['low','normal','normal','normal','high','urgent'])[1 + floor(random() * 6)::int],
              'question',
              cats.ids[1 + floor(random() * array_length(cats.ids, 1))::int],
              ARRAY(SELECT 'tag' || (1 + floor(random() * $3)::int) FROM generate_series(1, 1 + (g % 3)) WHERE g > 0),
              teams.ids[1 + floor(random() * array_length(teams.ids, 1))::int],
              CASE WHEN random() < 0.3 THEN agents.ids[1 + floor(random() * array_length(agents.ids, 1))::int] END,
              contacts.ids[1 + floor(random() * array_length(contacts.ids, 1))::int],
              (ARRAY['email','whatsapp','messenger','instagram','telegram','voice','chat'])[1 + floor(random() * 7)::int],
              CASE WHEN g <= $2 AND random() < 0.7 THEN now() + make_interval(secs => (random() * 4 - 1) * 86400) END,
              now() - make_interval(secs => random() * 365 * 86400),
              now()
         FROM generate_series(1, $1) g, teams, agents, contacts, cats`,
      [TICKETS, OPEN, TAGS],
    );
    for (const ix of indexes) await pool.query(ix.indexdef);
    await pool.query(`VACUUM ANALYZE tickets`);
    const counts = (
      await pool.query(
        `SELECT count(*)::int AS total, count(*) FILTER (WHERE status NOT IN ('solved','closed'))::int AS open FROM tickets`,
      )
    ).rows[0];
    console.error(`seeded ${counts.total} tickets (${counts.open} open) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

    // Its own port: other benchmarks may hold the stack's default ports on this shared machine.
    const svc = await stack.start('ticket-service', { TICKET_SERVICE_PORT: String(await freePort()) });
    const token = await loginToken(svc.url, 'agent1@bench.local', password);
    const headers = { authorization: `Bearer ${token}` };
    // A keep-alive node:http client: fetch costs the load generator more of the shared CPU.
    const agent = new Agent({ keepAlive: true, maxSockets: 256 });
    const getFrom = (base: string, qs: string) =>
      new Promise<Page>((resolve, reject) => {
        const req = request(`${base}/v1/queue?${qs}`, { agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString();
            if (res.statusCode !== 200) reject(new Error(`GET /v1/queue?${qs}: ${res.statusCode} ${body}`));
            else resolve(JSON.parse(body));
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
    const get = (qs: string) => getFrom(svc.url, qs);

    const [team1, team2] = (await pool.query(`SELECT id FROM teams WHERE name IN ('team 1', 'team 2') ORDER BY name`))
      .rows;
    const [category] = (await pool.query(`SELECT id FROM categories WHERE name = 'refund'`)).rows;
    const first = await get('limit=25');
    const mixes = [
      'limit=25',
      'status=new',
      'assignee=me',
      'assignee=unassigned',
      `teamId=${team1.id}`,
      'channel=whatsapp,messenger,instagram,telegram',
      'tag=tag7',
      `categoryId=${category.id}&status=open,new`,
      `teamId=${team2.id}&tag=tag3&limit=50`,
      `limit=25&cursor=${first.nextCursor}`,
    ];
    const sizes = [];
    for (const m of mixes) sizes.push((await get(m)).items.length);
    console.error(`filter mixes return ${sizes.join(', ')} tickets`);

    // Warm-up (JIT, pools, caches), not measured.
    await openLoop({ rate: 100, durationMs: 3000, fire: (i) => get(mixes[i % mixes.length]).then(() => undefined) });
    await sleep(500);

    // Capacity against the machine: the service, then the raw baseline, closed loop, same mixes.
    const fireAt = (base: string) => (i: number) => getFrom(base, mixes[i % mixes.length]).then(() => undefined);
    const max = await closedLoop({ connections: CONNECTIONS, durationMs: MAX_SECONDS * 1000, fire: fireAt(svc.url) });
    const rawPort = await freePort();
    const rawUrl = `http://127.0.0.1:${rawPort}`;
    const stopRaw = await startRawServer({
      ...stack.env,
      RAW_PORT: String(rawPort),
      RAW_AGENT_EMAIL: 'agent1@bench.local',
    });
    let raw: Awaited<ReturnType<typeof closedLoop>>;
    try {
      // Same answers, or the ratio compares different work.
      for (const m of mixes) {
        const [a, b] = [JSON.stringify(await get(m)), JSON.stringify(await getFrom(rawUrl, m))];
        if (a !== b) throw new Error(`raw server answers ${m} differently:\n${a.slice(0, 300)}\n${b.slice(0, 300)}`);
      }
      await closedLoop({ connections: CONNECTIONS, durationMs: 3000, fire: fireAt(rawUrl) });
      raw = await closedLoop({ connections: CONNECTIONS, durationMs: MAX_SECONDS * 1000, fire: fireAt(rawUrl) });
    } finally {
      stopRaw();
    }
    console.error(
      `closed loop, ${CONNECTIONS} connections: service ${max.rps.toFixed(0)} req/s (${max.errors} errors), raw ${raw.rps.toFixed(0)} req/s`,
    );
    await sleep(500);
    const halfRate = Math.max(1, Math.round(max.rps / 2));
    const half = await openLoop({ rate: halfRate, durationMs: SECONDS * 1000, fire: fireAt(svc.url) });
    const halfP99 = percentile(half.latencies, 99);
    console.error(
      `open loop at half the capacity, ${halfRate} req/s: p99 ${halfP99.toFixed(1)} ms, ${half.errors} errors`,
    );
    await sleep(500);
    let peakRss = svc.rssMb();
    const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, svc.rssMb())), 250);
    const run = await openLoop({
      rate: RATE,
      durationMs: SECONDS * 1000,
      fire: (i) => get(mixes[i % mixes.length]).then(() => undefined),
    });
    clearInterval(rssTimer);
    agent.destroy();
    const p50 = percentile(run.latencies, 50);
    const p99 = percentile(run.latencies, 99);
    const slowest = percentile(run.latencies, 100);
    console.error(
      `${machine()}; ${run.sent} requests, ${run.errors} errors; p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${slowest.toFixed(1)} ms; ticket-service peak RSS ${peakRss.toFixed(0)} MB`,
    );
    printResult({
      tickets: counts.total,
      open_tickets: counts.open,
      rate: RATE,
      queue_p50_ms: p50,
      queue_p99_ms: p99,
      errors: run.errors + max.errors + half.errors,
      max_rps: Math.round(max.rps),
      raw_max_rps: Math.round(raw.rps),
      max_ratio: (max.rps / raw.rps).toFixed(3),
      half_rate: halfRate,
      half_rate_p99_ms: halfP99,
      rss_mb: Math.round(peakRss),
    });
  } finally {
    await stack.stopAll();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
