#!/usr/bin/env node
// Starts every OneQueue service from dist/ as a child process (and, in demo mode, the demo's
// local stand-ins first), prints their log lines readably, waits until each answers /health,
// ends with one summary of where everything is, and stops them all on Ctrl-C / SIGTERM.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');
const { nodeOptionsFor } = require('./node-options.cjs');

const root = path.resolve(__dirname, '..');
// ticket-service first: it creates the admin and the demo inboxes the others read.
const SERVICES = [
  ['ticket-service', 'TICKET_SERVICE_PORT', 3000, 'agent API /v1, realtime /realtime'],
  ['sla-worker', 'SLA_WORKER_PORT', 3001, 'SLA timers'],
  ['email-service', 'EMAIL_SERVICE_PORT', 3002, 'IMAP ingest, SMTP replies'],
  ['social-service', 'SOCIAL_SERVICE_PORT', 3003, 'webhooks /webhooks/meta|telegram/:inboxId'],
  ['voice-service', 'VOICE_SERVICE_PORT', 3004, 'webhooks /webhooks/twilio|pbx/:inboxId'],
  ['chat-service', 'CHAT_SERVICE_PORT', 3005, 'customer socket /chat/socket, widget /widget/demo'],
];
const COLORS = [36, 33, 35, 32, 34, 31, 90];
const LEVELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const env = { ...process.env };
// Where the services answer: their BIND_HOST (127.0.0.1 unless .env says otherwise), loopback for "every address".
const bind = env.BIND_HOST || '127.0.0.1';
const HOST = bind === '0.0.0.0' ? '127.0.0.1' : bind === '::' ? '[::1]' : bind.includes(':') ? `[${bind}]` : bind;
const portOf = ([, v, port]) => env[v] || port;
const DEMO = env.SEED_DEMO === 'true';
const children = new Map();
let stopping = false;
let lines = 0;

/** One log line: pino JSON becomes `time level message key=value…` (service, pid and time are in the prefix). */
function format(line) {
  if (!line.startsWith('{')) return line;
  let o;
  try {
    o = JSON.parse(line);
  } catch {
    return line;
  }
  const { level, time, msg, service: _s, pid: _p, hostname: _h, context: _c, ...rest } = o;
  const extra = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const at = typeof time === 'string' ? time.slice(11, 19) : '';
  return `${at} ${LEVELS[level] ?? level} ${msg ?? ''}${extra ? `  ${extra}` : ''}`;
}

function start(name, color, args, onLine) {
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = `\x1b[${color}m[${name}]\x1b[0m `;
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => {
      if (onLine && onLine(line)) return;
      lines++;
      process.stdout.write(prefix + format(line) + '\n');
    });
  }
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (!stopping) {
      console.error(`${prefix}exited unexpectedly (${signal ?? code}); stopping the stack`);
      shutdown(1);
    } else if (!children.size) process.exit(process.exitCode ?? 0);
  });
  children.set(name, child);
  return child;
}

function startService(name, color) {
  start(name, color, ['--enable-source-maps', ...nodeOptionsFor(name), path.join(root, 'dist/apps', name, 'src/main.js')]);
}

/** Demo mode's stand-ins (demo/run.ts): resolves with the URLs they print once ready. */
function startDemo() {
  return new Promise((resolve) => {
    let ready = false;
    const child = start('demo', COLORS[6], [path.join(root, 'scripts/run-ts.cjs'), 'demo/run.ts'], (line) => {
      const m = /^demo: ready (\{.*\})$/.exec(line);
      if (!m) return false;
      ready = true;
      resolve(JSON.parse(m[1]));
      return true;
    });
    child.on('exit', () => ready || resolve(null));
  });
}

async function waitHealthy(port) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !stopping) {
    try {
      const res = await fetch(`http://${HOST}:${port}/health`);
      if (res.status === 200) return true;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

/** The password line of the summary: .env's ADMIN_PASSWORD when it still logs in, else where it went. */
async function passwordLine(api) {
  const password = env.ADMIN_PASSWORD;
  if (!password) return 'printed once above when the admin was created (set ADMIN_PASSWORD in .env before a first start to choose it)';
  try {
    const res = await fetch(`${api}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: env.ADMIN_EMAIL || 'admin@onequeue.local', password }),
    });
    if (res.status === 200 || res.status === 201) return `${password}  (ADMIN_PASSWORD in .env)`;
    return `ADMIN_PASSWORD in .env no longer logs in (HTTP ${res.status}): it was changed since`;
  } catch (err) {
    return `ADMIN_PASSWORD in .env (could not check it: ${err.message})`;
  }
}

function shutdown(code) {
  if (stopping) return;
  stopping = true;
  process.exitCode = code;
  console.log('\nstart: stopping all services (SIGTERM; in-flight jobs finish first)');
  for (const child of children.values()) child.kill('SIGTERM');
  setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL');
    process.exit(code || 1);
  }, 20_000).unref();
  if (!children.size) process.exit(code);
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

(async () => {
  let demo = null;
  if (DEMO) {
    if (!env.DEMO_KEY) console.log('start: SEED_DEMO=true without DEMO_KEY: no local stand-ins, demo inboxes use the real providers');
    else {
      // The fake providers listen on loopback, which media downloads refuse unless allow-listed.
      const providers = new URL(env.DEMO_PROVIDERS_URL || 'http://127.0.0.1:3009').host;
      env.FETCH_ALLOW_HOSTS = [env.FETCH_ALLOW_HOSTS, providers].filter(Boolean).join(',');
      demo = await startDemo();
      if (!demo) return shutdown(1);
    }
  }
  // The channel services reach ticket-service where npm start put it.
  env.TICKET_SERVICE_URL = env.TICKET_SERVICE_URL || `http://${HOST}:${portOf(SERVICES[0])}`;
  // Twilio signs the URL it called: without a proxy in front, that is voice-service's own address.
  env.VOICE_PUBLIC_BASE_URL = env.VOICE_PUBLIC_BASE_URL || `http://localhost:${portOf(SERVICES[4])}`;
  const [first, ...rest] = SERVICES;
  startService(first[0], COLORS[0]);
  if (!(await waitHealthy(portOf(first)))) return shutdown(1);
  rest.forEach(([name], i) => startService(name, COLORS[i + 1]));
  const ok = await Promise.all(rest.map((s) => waitHealthy(portOf(s))));
  if (ok.includes(false)) return shutdown(1);

  const api = `http://${HOST}:${portOf(first)}`;
  const out = [
    '',
    `OneQueue is up (${lines} log lines above; services bind ${bind}).`,
    `  Log in:    POST ${api}/v1/auth/login   API docs ${api}/docs (JSON ${api}/docs-json)`,
    `    user:     ${env.ADMIN_EMAIL || 'admin@onequeue.local'}`,
    `    password: ${await passwordLine(api)}`,
    '  Services (each has /health, /metrics, /docs):',
    ...SERVICES.map((s) => `    ${s[0].padEnd(15)} http://${HOST}:${portOf(s)}  ${s[3]}`),
  ];
  if (demo) {
    out.push(
      '  Demo stand-ins (SEED_DEMO=true; never in production):',
      `    mailbox (IMAP)  ${demo.imap}   outgoing mail  ${demo.outbox}  (files in ${path.relative(root, demo.outboxDir)})`,
      `    fake Graph/Telegram APIs with delivery and read receipts  ${demo.providers}`,
      '  Next: npm run demo:traffic   (one signed customer message on every channel)',
    );
  } else out.push(`  Next: create inboxes (POST ${api}/v1/inboxes) — see README.md`);
  out.push('Press Ctrl-C to stop.', '');
  console.log(out.join('\n'));
})();
