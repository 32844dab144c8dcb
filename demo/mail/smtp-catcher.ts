import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import PostalMime from 'postal-mime';
import { SMTPServer } from 'smtp-server';

/**
 * The demo's outgoing mail server: accepts what email-service sends for the demo inbox (its SMTP
 * user and password only), delivers nothing, and keeps every message as an .eml file in `dir`
 * (var/demo/outbox), newest listed first on a small web page. Demo mode only: a real inbox has
 * a real SMTP server.
 */
export interface CaughtMail {
  file: string;
  from: string;
  to: string;
  subject: string;
  date: string;
  text: string;
}

export async function startSmtpCatcher(opts: {
  dir: string;
  smtpPort: number;
  viewPort: number;
  host?: string;
  users: Record<string, string>;
  log?: (line: string) => void;
}): Promise<{ smtpPort: number; viewUrl: string; mails(): Promise<CaughtMail[]>; close(): Promise<void> }> {
  mkdirSync(opts.dir, { recursive: true });
  const smtp = new SMTPServer({
    authMethods: ['PLAIN', 'LOGIN'],
    // Loopback only, and the demo inbox is configured without TLS.
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 50 * 1024 * 1024,
    onAuth(auth, _session, cb) {
      if (opts.users[auth.username ?? ''] !== undefined && opts.users[auth.username!] === auth.password)
        return cb(null, { user: auth.username });
      cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const file = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}.eml`;
        writeFileSync(join(opts.dir, file), Buffer.concat(chunks));
        const to = session.envelope.rcptTo.map((r) => r.address).join(', ');
        opts.log?.(`mail to ${to} kept as ${file}`);
        cb();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    smtp.once('error', reject);
    smtp.listen(opts.smtpPort, opts.host ?? '127.0.0.1', () => resolve());
  });

  const mails = async (): Promise<CaughtMail[]> => {
    const files = readdirSync(opts.dir)
      .filter((f) => f.endsWith('.eml'))
      .sort()
      .reverse()
      .slice(0, 200);
    return Promise.all(
      files.map(async (file) => {
        const parsed = await PostalMime.parse(readFileSync(join(opts.dir, file)));
        const who = (a?: { name?: string; address?: string }) =>
          a ? `${a.name ?? ''} <${a.address ?? ''}>`.trim() : '';
        return {
          file,
          from: who(parsed.from),
          to: (parsed.to ?? []).map(who).join(', '),
          subject: parsed.subject ?? '',
          date: parsed.date ?? '',
          text: parsed.text ?? '',
        };
      }),
    );
  };

  const view: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const raw = /^\/raw\/([\w.-]+\.eml)$/.exec(url.pathname);
    if (raw) {
      try {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(readFileSync(join(opts.dir, raw[1])));
      } catch {
        res.writeHead(404).end('no such mail');
      }
      return;
    }
    if (url.pathname === '/mails.json') {
      void mails().then((m) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(m)));
      return;
    }
    if (url.pathname !== '/') return void res.writeHead(404).end('not found');
    void mails().then((list) => {
      const rows = list
        .map(
          (m) =>
            `<tr><td>${esc(m.date)}</td><td>${esc(m.from)}</td><td>${esc(m.to)}</td><td><a href="/raw/${esc(m.file)}">${esc(m.subject || '(no subject)')}</a><pre>${esc(m.text.slice(0, 2000))}</pre></td></tr>`,
        )
        .join('');
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(
          `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>OneQueue demo outbox</title>` +
            `<style>body{font:14px system-ui;margin:2em}td{vertical-align:top;border-top:1px solid #ddd;padding:.4em}pre{white-space:pre-wrap;margin:.3em 0;color:#333}</style>` +
            `<h1>Mail the demo inbox sent (${list.length})</h1><p>Kept in ${esc(opts.dir)}; nothing is delivered.</p>` +
            `<table><tr><th>Date</th><th>From</th><th>To</th><th>Subject</th></tr>${rows}</table>`,
        );
    });
  });
  await new Promise<void>((resolve, reject) => {
    view.once('error', reject);
    view.listen(opts.viewPort, opts.host ?? '127.0.0.1', () => resolve());
  });
  const viewAddress = view.address() as AddressInfo;
  return {
    smtpPort: (smtp.server.address() as AddressInfo).port,
    viewUrl: `http://${opts.host ?? '127.0.0.1'}:${viewAddress.port}/`,
    mails,
    close: async () => {
      view.closeAllConnections();
      await Promise.all([new Promise((r) => view.close(r)), new Promise((r) => smtp.close(() => r(undefined)))]);
    },
  };
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
