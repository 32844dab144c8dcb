#!/usr/bin/env node
// Starts every OneQueue service from dist/ as a child process, prefixes their log
// lines, waits until each answers /health, and stops them all on Ctrl-C / SIGTERM.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');
const { nodeOptionsFor } = require('./node-options.cjs');

const root = path.resolve(__dirname, '..');
// ticket-service first: it creates the admin and the demo inboxes the others read.
const SERVICES = [
  ['ticket-service', 'TICKET_SERVICE_PORT', 3000],
  ['sla-worker', 'SLA_WORKER_PORT', 3001],
  ['email-service', 'EMAIL_SERVICE_PORT', 3002],
  ['social-service', 'SOCIAL_SERVICE_PORT', 3003],
  ['voice-service', 'VOICE_SERVICE_PORT', 3004],
  ['chat-service', 'CHAT_SERVICE_PORT', 3005],
];
const COLORS = [36, 33, 35, 32, 34, 31];
// Where the services answer: their BIND_HOST (127.0.0.1 unless .env says otherwise), loopback for "every address".
const bind = process.env.BIND_HOST || '127.0.0.1';
const HOST = bind === '0.0.0.0' ? '127.0.0.1' : bind === '::' ? '[::1]' : bind.includes(':') ? `[${bind}]` : bind;
const children = new Map();
let stopping = false;

function start(name, color) {
  const args = ['--enable-source-maps', ...nodeOptionsFor(name), path.join(root, 'dist/apps', name, 'src/main.js')];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `\x1b[${color}m[${name}]\x1b[0m `;
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => process.stdout.write(prefix + line + '\n'));
  }
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (!stopping) {
      console.error(`${prefix}exited unexpectedly (${signal ?? code}); stopping the stack`);
      shutdown(1);
    } else if (!children.size) process.exit(process.exitCode ?? 0);
  });
  children.set(name, child);
}

async function waitHealthy(name, port) {
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
  const [first, ...rest] = SERVICES;
  start(first[0], COLORS[0]);
  if (!(await waitHealthy(first[0], process.env[first[1]] || first[2]))) return shutdown(1);
  rest.forEach(([name], i) => start(name, COLORS[i + 1]));
  const ok = await Promise.all(rest.map(([name, v, port]) => waitHealthy(name, process.env[v] || port)));
  if (ok.includes(false)) return shutdown(1);
  console.log('\nOneQueue is up:');
  for (const [name, v, port] of SERVICES) {
    const p = process.env[v] || port;
    console.log(`  ${name.padEnd(15)} http://${HOST}:${p}  (health /health, metrics /metrics, API docs /docs)`);
  }
  console.log('Press Ctrl-C to stop.\n');
})();
