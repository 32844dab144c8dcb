import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import * as pg from 'pg';
import { dropQueuePrefix } from '@oq/database/testing/test-env';
import { demoDovecotDir, stopDemoDovecot } from '../../demo/mail/dovecot';
import { freePort } from './redis-server';

/**
 * The README's first five minutes, driven like a newcomer on a fresh clone: `npm start`, read the
 * printed login, log in, `npm run demo:traffic`, see a ticket of every channel in the queue, reply
 * on each (the call on WhatsApp) and wait for every reply's final delivery state. Used by
 * test/first-run/readme-path.spec.ts and `npm run bench:first-run`.
 *
 * The clone is the repository's tracked and untracked-but-not-ignored files (what `git clone`
 * gives, plus uncommitted work) in a temp dir, with the repository's node_modules linked in; its
 * own database, queue prefix and ports, so it never touches the developer's `onequeue` database.
 */
const REPO = resolve(__dirname, '../..');

export const CHANNELS = ['email', 'whatsapp', 'messenger', 'instagram', 'telegram', 'voice', 'chat'] as const;
/** Final delivery state a reply reaches per channel: Telegram's Bot API and SMTP report no delivery. */
export const FINAL_STATE: Record<string, readonly string[]> = {
  whatsapp: ['read'],
  messenger: ['read'],
  instagram: ['read'],
  chat: ['delivered', 'read'],
  telegram: ['sent'],
  email: ['sent'],
};

/** The phases of a start, by the line that ends each. */
const MARKS: Record<string, RegExp> = {
  migrated: /^(applied |database is up to date)/m,
  built: /^build: dist\/ ready/m,
  servicesStarting: /\[ticket-service\]/,
  up: /OneQueue is up/,
};

export interface FirstRunReport {
  startSeconds: number;
  logLinesToSummary: number;
  summary: string;
  login: { email: string; password: string; url: string };
  /** Channels with a ticket in the queue after demo:traffic. */
  channelsOk: string[];
  /** Reply per ticket channel (voice answered on WhatsApp): its final state, or what it got stuck at. */
  replies: { ticketChannel: string; replyChannel: string; status: string; final: boolean }[];
  /** The OpenAPI JSON of every service, fetched from the running stack. */
  openapi: { service: string; url: string; document: unknown }[];
  outboxMails: number;
  fakeProviderSends: number;
}

export class FirstRun {
  readonly dir = mkdtempSync(join(tmpdir(), 'oq-first-run-'));
  readonly database = `oq_first_run_${randomBytes(4).toString('hex')}`;
  readonly prefix = `{oqfr${randomBytes(3).toString('hex')}}`;
  env: Record<string, string> = {};
  private stack?: ChildProcess;
  private traffic?: ChildProcess;
  private output = '';
  ports: Record<string, number> = {};
  /** Seconds from `npm start` until its output first showed each phase's end (MARKS). */
  marks: Record<string, number> = {};

  /** Copies the repository as a clone would have it and picks free ports. */
  async prepare(): Promise<void> {
    const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: REPO,
      encoding: 'utf8',
    });
    if (files.status !== 0) throw new Error(`git ls-files failed: ${files.stderr}`);
    for (const file of files.stdout.split('\0').filter(Boolean)) {
      const from = join(REPO, file);
      try {
        if (!statSync(from).isFile()) continue;
      } catch {
        continue; // deleted in the working tree
      }
      mkdirSync(dirname(join(this.dir, file)), { recursive: true });
      copyFileSync(from, join(this.dir, file));
    }
    // npm start's prestart reinstalls when package-lock.json is newer than the install: a linked
    // node_modules must never be reinstalled from here (npm ci would empty the repository's own).
    symlinkSync(join(REPO, 'node_modules'), join(this.dir, 'node_modules'));
    const lock = statSync(join(this.dir, 'package-lock.json')).mtimeMs;
    const installed = statSync(join(REPO, 'node_modules/.package-lock.json')).mtimeMs;
    if (lock > installed) {
      const now = new Date(installed - 1000);
      spawnSync('touch', ['-d', now.toISOString(), join(this.dir, 'package-lock.json')]);
    }
    for (const name of [
      'TICKET_SERVICE_PORT',
      'SLA_WORKER_PORT',
      'EMAIL_SERVICE_PORT',
      'SOCIAL_SERVICE_PORT',
      'VOICE_SERVICE_PORT',
      'CHAT_SERVICE_PORT',
      'DEMO_IMAP_PORT',
      'DEMO_SMTP_PORT',
      'DEMO_MAIL_VIEW_PORT',
      'DEMO_PROVIDERS_PORT',
    ])
      this.ports[name] = await freePort();
    const { DEMO_PROVIDERS_PORT, ...servicePorts } = this.ports;
    this.env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? this.dir,
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${this.database}`,
      REDIS_URL: process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: this.prefix,
      DEMO_PROVIDERS_URL: `http://127.0.0.1:${DEMO_PROVIDERS_PORT}`,
      ...Object.fromEntries(Object.entries(servicePorts).map(([k, v]) => [k, String(v)])),
    };
  }

  url(portVar: string): string {
    return `http://127.0.0.1:${this.ports[portVar]}`;
  }

  /** `npm start` until its summary; returns the seconds it took and what it printed before. */
  async start(timeoutMs = 240_000): Promise<{ seconds: number; linesBefore: number; before: string; summary: string }> {
    const t0 = Date.now();
    this.stack = spawn('npm', ['start'], { cwd: this.dir, env: this.env, detached: true });
    const mark = (d: Buffer) => {
      this.output += d;
      for (const [name, re] of Object.entries(MARKS))
        if (this.marks[name] === undefined && re.test(this.output)) this.marks[name] = (Date.now() - t0) / 1000;
    };
    this.stack.stdout!.on('data', mark);
    this.stack.stderr!.on('data', mark);
    const exited = new Promise<never>((_, reject) =>
      this.stack!.once('exit', (code) =>
        reject(new Error(`npm start exited with ${code} before its summary:\n${excerpt(this.output)}`)),
      ),
    );
    const summary = await Promise.race([
      exited,
      waitFor(
        () => {
          const i = this.output.indexOf('Press Ctrl-C to stop.');
          return i >= 0 ? this.output.slice(0, i + 21) : null;
        },
        timeoutMs,
        () => `npm start printed no summary within ${timeoutMs / 1000} s:\n${excerpt(this.output)}`,
      ),
    ]);
    const seconds = (Date.now() - t0) / 1000;
    const before = summary.slice(0, summary.indexOf('OneQueue is up'));
    // npm's own banner (`> onequeue@… start`, the script line) counts: it is what the newcomer sees.
    const linesBefore = before.split('\n').filter((l) => l.trim()).length;
    return { seconds, linesBefore, before, summary: summary.slice(summary.indexOf('OneQueue is up')) };
  }

  /** The login the summary printed. */
  loginFrom(summary: string): { email: string; password: string; url: string } {
    const email = /user:\s+(\S+)/.exec(summary)?.[1];
    const password = /password:\s+(\S+)/.exec(summary)?.[1];
    const url = /Log in:\s+POST (\S+)\/v1\/auth\/login/.exec(summary)?.[1];
    if (!email || !password || !url) throw new Error(`the summary names no login:\n${summary}`);
    return { email, password, url };
  }

  /** `npm run demo:traffic -- --stay`: resolves once it reports what it sent; the chat customer stays online. */
  async runTraffic(timeoutMs = 60_000): Promise<string> {
    let out = '';
    this.traffic = spawn('npm', ['run', '--silent', 'demo:traffic', '--', '--stay'], {
      cwd: this.dir,
      env: this.env,
      detached: true,
    });
    this.traffic.stdout!.on('data', (d) => (out += d));
    this.traffic.stderr!.on('data', (d) => (out += d));
    return waitFor(
      () => (/messages accepted/.test(out) ? out : null),
      timeoutMs,
      () => `demo:traffic did not finish:\n${out}`,
    );
  }

  async stop(): Promise<void> {
    for (const child of [this.traffic, this.stack]) {
      if (!child || child.exitCode !== null) continue;
      const gone = new Promise((r) => child.once('exit', r));
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* already gone */
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([gone, new Promise((r) => (timer = setTimeout(r, 25_000)))]);
      clearTimeout(timer);
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* stopped */
      }
    }
    // The demo's Dovecot daemonises: stopped with the stack, unless the stack was killed.
    stopDemoDovecot(join(this.dir, 'var/demo/dovecot'));
    rmSync(demoDovecotDir(join(this.dir, 'var/demo/dovecot')), { recursive: true, force: true });
    const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`).finally(() => admin.end());
    await dropQueuePrefix(this.prefix, this.env.REDIS_URL);
    rmSync(this.dir, { recursive: true, force: true });
  }

  get log(): string {
    return this.output;
  }
}

/** Logs in, checks the queue holds every channel, replies on each ticket and waits for final delivery states. */
export async function exerciseChannels(
  run: FirstRun,
  login: { email: string; password: string; url: string },
  timeoutMs = 60_000,
): Promise<Pick<FirstRunReport, 'channelsOk' | 'replies' | 'outboxMails' | 'fakeProviderSends'>> {
  const api = login.url;
  const res = await fetch(`${api}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: login.email, password: login.password }),
  });
  if (!res.ok) throw new Error(`login with the printed password failed: HTTP ${res.status} ${await res.text()}`);
  const { accessToken } = (await res.json()) as { accessToken: string };
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${accessToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: (await r.json().catch(() => null)) as any };
  };
  type QueueItem = { id: string; channel: string; subject: string | null; requesterId: string };
  // Ingest is asynchronous (email waits for IMAP IDLE): wait until every channel has its ticket.
  let items: QueueItem[] = [];
  try {
    items = await waitFor(
      async () => {
        const q = await call('GET', '/v1/queue?limit=100');
        const list = (q.body?.items ?? []) as QueueItem[];
        const voice = list.filter((t) => t.channel === 'voice').length;
        return CHANNELS.every((c) => list.some((t) => t.channel === c)) && voice >= 3 ? list : null;
      },
      timeoutMs,
      () => 'not every channel has a ticket',
    );
  } catch {
    items = ((await call('GET', '/v1/queue?limit=100')).body?.items ?? []) as QueueItem[];
  }
  const channelsOk = CHANNELS.filter((c) => items.some((t) => t.channel === c));

  const sent: { ticketId: string; messageId: string; ticketChannel: string; replyChannel: string }[] = [];
  const replies: FirstRunReport['replies'] = [];
  for (const channel of CHANNELS) {
    // The call to answer is Budi's: demo:traffic calls from the number his WhatsApp is on, so the call
    // ticket has the WhatsApp ticket's requester, and the reply goes out on WhatsApp.
    const budi = items.find((t) => t.channel === 'whatsapp')?.requesterId;
    const ticket =
      channel === 'voice'
        ? items.find((t) => t.channel === 'voice' && t.requesterId === budi)
        : items.find((t) => t.channel === channel);
    if (!ticket) {
      const seen = items.filter((t) => t.channel === channel).map((t) => t.subject);
      replies.push({
        ticketChannel: channel,
        replyChannel: '-',
        status: `no ticket (${seen.join('; ')})`,
        final: false,
      });
      continue;
    }
    const replyChannel = channel === 'voice' ? 'whatsapp' : channel;
    const r = await call('POST', `/v1/tickets/${ticket.id}/messages`, {
      text: `Terima kasih / Thank you / 谢谢 — we are looking into it.`,
      ...(channel === 'voice' ? { channel: 'whatsapp' } : {}),
    });
    if (r.status !== 201) {
      replies.push({
        ticketChannel: channel,
        replyChannel,
        status: `HTTP ${r.status} ${r.body?.message}`,
        final: false,
      });
      continue;
    }
    sent.push({ ticketId: ticket.id, messageId: r.body.id, ticketChannel: channel, replyChannel });
  }
  const statusOf = async (s: (typeof sent)[number]) => {
    const t = await call('GET', `/v1/tickets/${s.ticketId}`);
    const m = ((t.body?.messages ?? []) as { id: string; deliveryStatus: string | null }[]).find(
      (x) => x.id === s.messageId,
    );
    return m?.deliveryStatus ?? 'missing';
  };
  const deadline = Date.now() + timeoutMs;
  for (const s of sent) {
    let status = await statusOf(s);
    while (!FINAL_STATE[s.replyChannel].includes(status) && status !== 'failed' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      status = await statusOf(s);
    }
    replies.push({
      ticketChannel: s.ticketChannel,
      replyChannel: s.replyChannel,
      status,
      final: FINAL_STATE[s.replyChannel].includes(status),
    });
  }
  const outbox = (await (await fetch(`${run.url('DEMO_MAIL_VIEW_PORT')}/mails.json`)).json()) as unknown[];
  const fakes = (await (await fetch(`${run.env.DEMO_PROVIDERS_URL}/sent.json`)).json()) as unknown[];
  return { channelsOk, replies, outboxMails: outbox.length, fakeProviderSends: fakes.length };
}

/** Each service's OpenAPI JSON from the running stack. */
export async function fetchOpenApi(run: FirstRun): Promise<FirstRunReport['openapi']> {
  const services = [
    ['ticket-service', 'TICKET_SERVICE_PORT'],
    ['sla-worker', 'SLA_WORKER_PORT'],
    ['email-service', 'EMAIL_SERVICE_PORT'],
    ['social-service', 'SOCIAL_SERVICE_PORT'],
    ['voice-service', 'VOICE_SERVICE_PORT'],
    ['chat-service', 'CHAT_SERVICE_PORT'],
  ];
  return Promise.all(
    services.map(async ([service, port]) => {
      const url = `${run.url(port)}/docs-json`;
      return { service, url, document: await (await fetch(url)).json() };
    }),
  );
}

async function waitFor<T>(probe: () => T | null | Promise<T | null>, timeoutMs: number, why: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The start and the end of a long output: where it went wrong is usually at one of them. */
function excerpt(output: string): string {
  return output.length <= 6000 ? output : `${output.slice(0, 3000)}\n…\n${output.slice(-3000)}`;
}
