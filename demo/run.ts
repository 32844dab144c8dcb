import { join, resolve } from 'node:path';
import { demoInboxSecrets } from '@oq/contracts';
import { startFakeProviders } from './fake-providers/server';
import { startDemoDovecot } from './mail/dovecot';
import { startSmtpCatcher } from './mail/smtp-catcher';

/**
 * Demo mode's stand-ins for the outside world, started by `npm start` (scripts/start-all.cjs)
 * before the services when SEED_DEMO=true: a Dovecot the demo email inbox reads, an SMTP catcher
 * it sends through (mail kept in var/demo/outbox, listed on a web page), and the fake Graph and
 * Bot API the social demo inboxes send through, which answers with signed delivery and read
 * webhooks. Prints one `demo: ready {json}` line with the URLs; SIGTERM stops them all.
 * Never part of the production image or compose's default services.
 */
const DEMO_EMAIL = 'support@wallet.example';

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw ? Number(raw) : fallback;
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`${name} must be a port number, got ${JSON.stringify(raw)}`);
  return n;
}

function fail(message: string): never {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(1);
}

async function main() {
  const demoKey = process.env.DEMO_KEY;
  if (!demoKey) fail('DEMO_KEY is not set (npm start writes one into .env in demo mode)');
  const root = resolve(process.env.DEMO_DIR ?? 'var/demo');
  const host = process.env.BIND_HOST === '0.0.0.0' ? '0.0.0.0' : '127.0.0.1';
  const providersUrl = new URL(process.env.DEMO_PROVIDERS_URL ?? 'http://127.0.0.1:3009');
  const socialPort = port('SOCIAL_SERVICE_PORT', 3003);
  const mail = demoInboxSecrets(demoKey, 'email', DEMO_EMAIL);
  const quiet = process.env.DEMO_QUIET === 'true';
  const log = (line: string) => {
    if (!quiet) process.stdout.write(`${line}\n`);
  };

  const dovecot = await startDemoDovecot({
    dir: join(root, 'dovecot'),
    port: port('DEMO_IMAP_PORT', 1143),
    host,
    // Customers' mail is appended straight into this INBOX by demo:traffic: no other mailboxes.
    users: { [DEMO_EMAIL]: mail.imapPassword },
  });
  const catcher = await startSmtpCatcher({
    dir: join(root, 'outbox'),
    smtpPort: port('DEMO_SMTP_PORT', 2525),
    viewPort: port('DEMO_MAIL_VIEW_PORT', 3008),
    host,
    users: { [DEMO_EMAIL]: mail.smtpPassword },
    log: (line) => log(`smtp-catcher: ${line}`),
  });
  const fakes = await startFakeProviders({
    port: Number(providersUrl.port || 80),
    host,
    demoKey,
    socialServiceUrl: process.env.SOCIAL_SERVICE_URL ?? `http://127.0.0.1:${socialPort}`,
    graphVersion: process.env.META_GRAPH_VERSION,
    log: (line) => log(`fake-providers: ${line}`),
  });
  process.stdout.write(
    `demo: ready ${JSON.stringify({
      imap: `127.0.0.1:${port('DEMO_IMAP_PORT', 1143)}`,
      smtp: `127.0.0.1:${catcher.smtpPort}`,
      outbox: catcher.viewUrl,
      outboxDir: join(root, 'outbox'),
      providers: `${fakes.url.replace(/\/$/, '')}/`,
    })}\n`,
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    dovecot.stop();
    await Promise.allSettled([catcher.close(), fakes.close()]);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => fail((err as Error).message));
