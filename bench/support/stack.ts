/**
 * Benchmark harness: runs the BUILT services as separate processes (as `npm start`
 * does) against a dedicated database and queue prefix, and gives load generators
 * open-loop pacing with coordinated-omission correction.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { createDataSource, ensureDatabaseExists } from '@oq/database';
import { Redis } from 'ioredis';
import * as pg from 'pg';

export const ROOT = resolve(__dirname, '..', '..');
// The same per-service V8 flags as `npm start` (scripts/start-all.cjs).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { nodeOptionsFor } = require(join(ROOT, 'scripts/node-options.cjs')) as {
  nodeOptionsFor: (s: string) => string[];
};

const SERVICE_PORTS: Record<string, [string, number]> = {
  'ticket-service': ['TICKET_SERVICE_PORT', 3100],
  'sla-worker': ['SLA_WORKER_PORT', 3101],
  'email-service': ['EMAIL_SERVICE_PORT', 3102],
  'social-service': ['SOCIAL_SERVICE_PORT', 3103],
  'voice-service': ['VOICE_SERVICE_PORT', 3104],
  'chat-service': ['CHAT_SERVICE_PORT', 3105],
};

export interface ServiceProcess {
  name: string;
  url: string;
  pid: number;
  rssMb(): number;
  peakRssMb(): number;
  stop(): Promise<void>;
}

export interface BenchStack {
  env: NodeJS.ProcessEnv;
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  /** A pg pool on the bench database for seeding and checks. */
  pool: pg.Pool;
  redis: Redis;
  /** `root`: another checkout's build (bench/support/baseline.ts), for before/after ratios in one run. */
  start(
    service: string,
    extraEnv?: Record<string, string>,
    root?: string,
    options?: ServiceOutputOptions,
  ): Promise<ServiceProcess>;
  stopAll(): Promise<void>;
}

/** Builds dist/ (unless BENCH_SKIP_BUILD=1), recreates the bench database, migrates it, clears the bench prefix. */
export async function prepareStack(name: string): Promise<BenchStack> {
  if (process.env.BENCH_SKIP_BUILD !== '1')
    execFileSync('bash', [join(ROOT, 'scripts/build.sh')], { stdio: 'inherit' });
  const adminUrl = process.env.BENCH_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `oq_bench_${name.replace(/[^a-z0-9]/g, '_')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const databaseUrl = url.toString();
  await ensureDatabaseExists(databaseUrl);
  const ds = createDataSource({ url: databaseUrl, poolSize: 1, applicationName: 'bench-migrate' });
  await ds.initialize();
  await ds.runMigrations({ transaction: 'each' });
  await ds.destroy();

  const redisUrl = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
  const prefix = `{oqbench${name.replace(/[^a-z0-9]/g, '')}}`;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  await deleteKeys(redis, `${prefix}*`);

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'warn',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    BLOB_DIR: join(ROOT, 'var', 'bench-blobs'),
    SERVICE_TOKEN: randomBytes(24).toString('hex'),
    JWT_SECRET: randomBytes(32).toString('hex'),
    SECRETS_KEYS: `b1:${randomBytes(32).toString('base64')}`,
    SECRETS_ACTIVE_KEY: 'b1',
    EMAIL_THREADING_SECRET: randomBytes(24).toString('hex'),
    ADMIN_EMAIL: 'admin@bench.local',
    ADMIN_PASSWORD: 'bench-admin-password',
    SEED_DEMO: 'false',
    // The benchmarks' fakes (inbox API, provider stand-ins serving media/recordings) listen on
    // 127.0.0.1, which URLs from payloads may only reach when allow-listed (safeFetch).
    FETCH_ALLOW_HOSTS: '127.0.0.1,localhost',
    // The load generators connect to 127.0.0.1 and scrape /metrics without a token, whatever the shell says.
    BIND_HOST: '127.0.0.1',
    METRICS_TOKEN: '',
  };
  for (const [v, port] of Object.values(SERVICE_PORTS)) env[v] = String(port);

  const pool = new pg.Pool({ connectionString: databaseUrl, max: 16 });
  const procs: ServiceProcess[] = [];
  return {
    env,
    databaseUrl,
    redisUrl,
    prefix,
    pool,
    redis,
    async start(service, extraEnv = {}, root = ROOT, options = {}) {
      const p = await startService(service, { ...env, ...extraEnv }, root, options);
      procs.push(p);
      return p;
    },
    async stopAll() {
      await Promise.all(procs.map((p) => p.stop()));
      await pool.end();
      await deleteKeys(redis, `${prefix}*`);
      redis.disconnect();
    },
  };
}

async function deleteKeys(redis: Redis, pattern: string) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}

export interface ServiceOutputOptions {
  /**
   * Every line the service writes (stdout and stderr), still passed through to this process's own:
   * for a benchmark that counts log lines (e.g. failed jobs at shutdown). Without it output is inherited.
   */
  onLine?: (line: string) => void;
}

export async function startService(
  service: string,
  env: NodeJS.ProcessEnv,
  root = ROOT,
  options: ServiceOutputOptions = {},
): Promise<ServiceProcess> {
  const [portVar, defaultPort] = SERVICE_PORTS[service] ?? [];
  if (!portVar) throw new Error(`unknown service ${service}`);
  const port = Number(env[portVar] ?? defaultPort);
  // BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the services, not the load generator.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const args = [...nodeOptionsFor(service), ...nodeArgs, join(root, 'dist/apps', service, 'src/main.js')];
  const onLine = options.onLine;
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: root,
    env,
    stdio: onLine ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
  });
  if (onLine)
    for (const [from, to] of [
      [child.stdout!, process.stdout],
      [child.stderr!, process.stderr],
    ] as const) {
      let rest = '';
      from.on('data', (chunk: Buffer) => {
        to.write(chunk);
        const lines = (rest + chunk.toString('utf8')).split('\n');
        rest = lines.pop()!;
        for (const line of lines) onLine(line);
      });
      from.on('end', () => rest && onLine(rest));
    }
  let peak = 0;
  const rssMb = () => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      const mb = m ? Number(m[1]) / 1024 : 0;
      peak = Math.max(peak, mb);
      return mb;
    } catch {
      return 0;
    }
  };
  const sampler = setInterval(rssMb, 250);
  sampler.unref();
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${service} exited with ${child.exitCode} during start`);
    try {
      if ((await fetch(`${url}/health`)).status === 200) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${service} did not become healthy`);
    await sleep(200);
  }
  return {
    name: service,
    url,
    pid: child.pid!,
    rssMb,
    peakRssMb: () => Math.max(peak, rssMb()),
    stop: () =>
      new Promise<void>((res) => {
        clearInterval(sampler);
        // Exited already (Nest re-raises SIGTERM, so a stopped service ends by signal, exitCode null).
        if (child.exitCode !== null || child.signalCode !== null) return res();
        child.once('exit', () => res());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      }),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

/**
 * Open-loop load: request i is due at t0 + i/rate whether or not earlier ones
 * returned, and its latency is measured from that intended time, so a stall
 * shows up in every request it delayed (coordinated omission corrected).
 */
export async function openLoop(opts: {
  rate: number;
  durationMs: number;
  fire: (i: number) => Promise<void>;
}): Promise<{ latencies: number[]; errors: number; sent: number }> {
  const total = Math.floor((opts.rate * opts.durationMs) / 1000);
  const latencies: number[] = [];
  const trace: string[] = [];
  let errors = 0;
  const t0 = performance.now() + 50;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const intended = t0 + (i * 1000) / opts.rate;
    const wait = intended - performance.now();
    if (wait > 1) await sleep(wait);
    inflight.push(
      opts.fire(i).then(
        () => {
          latencies.push(performance.now() - intended);
          trace.push(`${(intended - t0).toFixed(1)},${(performance.now() - intended).toFixed(1)}`);
        },
        () => {
          errors++;
          latencies.push(performance.now() - intended);
        },
      ),
    );
  }
  await Promise.all(inflight);
  // BENCH_TRACE_DIR: one CSV per run (intended send offset ms, latency ms) to see when the tail happens.
  if (process.env.BENCH_TRACE_DIR)
    writeFileSync(join(process.env.BENCH_TRACE_DIR, `openloop-${Date.now()}.csv`), trace.join('\n') + '\n');
  return { latencies, errors, sent: total };
}

/**
 * Closed loop: `connections` callers each sending the next request as soon as the last answered,
 * for `durationMs` — the most the target sustains at that concurrency (requests/s answered).
 */
export async function closedLoop(opts: {
  connections: number;
  durationMs: number;
  fire: (i: number) => Promise<void>;
}): Promise<{ rps: number; completed: number; errors: number }> {
  let next = 0;
  let completed = 0;
  let errors = 0;
  const t0 = performance.now();
  const end = t0 + opts.durationMs;
  await Promise.all(
    Array.from({ length: opts.connections }, async () => {
      while (performance.now() < end) {
        try {
          await opts.fire(next++);
          completed++;
        } catch {
          errors++;
        }
      }
    }),
  );
  return { rps: completed / ((performance.now() - t0) / 1000), completed, errors };
}

export function machine(): string {
  const c = cpus();
  return `${c.length}x ${c[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`;
}

/** The one line runs are compared by. */
export function printResult(fields: Record<string, number | string>): void {
  const fmt = (v: number | string) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(1)) : v);
  console.log(
    `RESULT ${Object.entries(fields)
      .map(([k, v]) => `${k}=${fmt(v)}`)
      .join(' ')}`,
  );
}
