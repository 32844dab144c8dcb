/**
 * npm run bench:email — email-service against the real stack: built ticket-service
 * and email-service as separate processes, a real Dovecot (IMAP APPEND) and a
 * real SMTP server process.
 *
 *   import_mails_per_s  10,000 mixed mails (text, HTML, attachments) appended while
 *                       email-service is down; from its start until every one is a
 *                       ticket message in Postgres
 *   rss_mb              email-service peak RSS during that import
 *   idle_p99_ms         one APPEND every 250 ms → message row visible (IDLE path)
 *   smtp_p99_ms         agent replies (POST /v1/tickets/:id/messages) at 50/s → accepted by the SMTP server
 *
 * Env: BENCH_IMPORT (10000), BENCH_IDLE_SAMPLES (100), BENCH_SMTP_SECONDS (20), BENCH_SKIP_BUILD=1.
 */
import { randomUUID } from 'node:crypto';
import { SecretBox } from '@oq/platform';
import { DovecotServer } from '../../test/support/dovecot';
import { SmtpSink } from '../../test/support/smtp-sink';
import { InboxApiStub } from '../../apps/email-service/src/testing/email-test-kit';
import { appendParallel, mixedMail } from '../support/mails';
import { machine, openLoop, percentile, prepareStack, printResult, sleep } from '../support/stack';
import { loginToken } from '../../apps/ticket-service/src/auth/auth.testing';

const IMPORT = Number(process.env.BENCH_IMPORT ?? 10_000);
const IDLE_SAMPLES = Number(process.env.BENCH_IDLE_SAMPLES ?? 100);
const SMTP_SECONDS = Number(process.env.BENCH_SMTP_SECONDS ?? 20);
const ADDRESS = 'support@bench.test';
const PASS = 'bench-imap-pw';

async function main() {
  const stack = await prepareStack('email');
  const dovecot = await DovecotServer.start({ [ADDRESS]: PASS });
  const sink = await SmtpSink.start();
  let stub: InboxApiStub | undefined;
  try {
    const ticket = await stack.start('ticket-service');
    const [{ id: teamId }] = (await stack.pool.query(`INSERT INTO teams (name) VALUES ('Payments') RETURNING id`)).rows;
    const inboxId = randomUUID();
    const settings = {
      imapHost: '127.0.0.1',
      imapPort: dovecot.port,
      imapSecure: false,
      imapUser: ADDRESS,
      smtpHost: '127.0.0.1',
      smtpPort: sink.port,
      smtpSecure: false,
    };
    const secrets = { imapPassword: PASS };
    const box = new SecretBox(stack.env.SECRETS_KEYS!, stack.env.SECRETS_ACTIVE_KEY!);
    await stack.pool.query(
      `INSERT INTO inboxes (id, name, channel, address, default_team_id, settings, secrets)
       VALUES ($1, 'Bench mail', 'email', $2, $3, $4, $5)`,
      [inboxId, ADDRESS, teamId, JSON.stringify(settings), box.encrypt(JSON.stringify(secrets), inboxId)],
    );

    // The real internal inbox API when ticket-service serves it; else its documented contract from a stub.
    let apiUrl = ticket.url;
    const probe = await fetch(`${ticket.url}/internal/inboxes?channel=email`, {
      headers: { 'x-service-token': stack.env.SERVICE_TOKEN! },
    }).catch(() => undefined);
    const served = probe?.ok ? ((await probe.json()) as { id: string }[]).some((i) => i.id === inboxId) : false;
    if (!served) {
      stub = await InboxApiStub.start(stack.env.SERVICE_TOKEN!);
      stub.inboxes = [
        {
          id: inboxId,
          name: 'Bench mail',
          channel: 'email',
          address: ADDRESS,
          defaultTeamId: teamId,
          enabled: true,
          settings,
          secrets,
        },
      ];
      apiUrl = stub.url;
    }
    console.log(`machine: ${machine()}; inbox API: ${served ? 'ticket-service' : 'contract stub'}`);

    // --- backlog import ---
    const t0 = Date.now();
    const mails = Array.from({ length: IMPORT }, (_, i) => mixedMail(i, 'import', ADDRESS));
    const totalBytes = mails.reduce((n, m) => n + m.length, 0);
    await appendParallel(dovecot, ADDRESS, mails, 4);
    console.log(
      `appended ${IMPORT} mails (${(totalBytes / 1024 / 1024).toFixed(0)} MB, avg ${Math.round(totalBytes / IMPORT / 1024)} KB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    const count = async (tag: string) =>
      Number(
        (
          await stack.pool.query(`SELECT count(*) AS n FROM messages WHERE inbox_id = $1 AND external_id LIKE $2`, [
            inboxId,
            `<${tag}-%`,
          ])
        ).rows[0].n,
      );

    const importStart = Date.now();
    const email = await stack.start('email-service', {
      TICKET_SERVICE_URL: apiUrl,
      EMAIL_POLL_FALLBACK_MS: '600000',
    });
    let done = 0;
    let enqueuedAt = 0;
    while ((done = await count('import')) < IMPORT) {
      if (Date.now() - importStart > 1_200_000) throw new Error(`import stalled at ${done}/${IMPORT}`);
      // The cursor reaching the last UID means email-service has enqueued everything (ticket-service may lag).
      if (!enqueuedAt) {
        const cur = await stack.pool.query('SELECT last_uid FROM email_imap_cursors WHERE inbox_id = $1', [inboxId]);
        if (Number(cur.rows[0]?.last_uid ?? 0) >= IMPORT) enqueuedAt = Date.now();
      }
      await sleep(200);
    }
    if (!enqueuedAt) enqueuedAt = Date.now();
    console.log(
      `email-service enqueued ${IMPORT} in ${((enqueuedAt - importStart) / 1000).toFixed(1)} s = ${(IMPORT / ((enqueuedAt - importStart) / 1000)).toFixed(0)}/s (fetch + parse + blobs + enqueue)`,
    );
    const importSeconds = (Date.now() - importStart) / 1000;
    const importRate = IMPORT / importSeconds;
    const rss = email.peakRssMb();
    console.log(
      `import: ${IMPORT} mails in ${importSeconds.toFixed(1)} s = ${importRate.toFixed(0)}/s; peak RSS ${rss.toFixed(0)} MB`,
    );

    // --- IDLE latency ---
    const client = await dovecot.client(ADDRESS);
    const idle = await openLoop({
      rate: 4,
      durationMs: (IDLE_SAMPLES / 4) * 1000,
      fire: async (i) => {
        const id = `<idle-${i}@customer.bench>`;
        await client.append('INBOX', mixedMail(i, 'idle', ADDRESS));
        const deadline = Date.now() + 30_000;
        while (
          (
            await stack.pool.query(`SELECT 1 FROM messages WHERE inbox_id = $1 AND external_id LIKE $2 || '#%'`, [
              inboxId,
              id,
            ])
          ).rowCount === 0
        ) {
          if (Date.now() > deadline) throw new Error(`mail ${id} not ingested`);
          await sleep(10);
        }
      },
    });
    await client.logout().catch(() => undefined);
    const idleP99 = percentile(idle.latencies, 99);
    console.log(
      `idle: ${idle.sent} appends, p50 ${percentile(idle.latencies, 50).toFixed(0)} ms, p99 ${idleP99.toFixed(0)} ms, errors ${idle.errors}`,
    );

    // --- agent replies at 50/s through the REST API → accepted by the SMTP server ---
    const accessToken = await loginToken(ticket.url, stack.env.ADMIN_EMAIL!, stack.env.ADMIN_PASSWORD);
    const tickets: { id: string }[] = (
      await stack.pool.query(`SELECT id FROM tickets WHERE inbox_id = $1 ORDER BY number LIMIT 100`, [inboxId])
    ).rows;
    const requestedAt = new Map<string, number>();
    const sinkBefore = sink.mails.length;
    const sends = await openLoop({
      rate: 50,
      durationMs: SMTP_SECONDS * 1000,
      fire: async (i) => {
        const started = Date.now();
        const res = await fetch(`${ticket.url}/v1/tickets/${tickets[i % tickets.length].id}/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
          body: JSON.stringify({ text: `We have refunded the charge (${i}); it shows within 3 days.` }),
        });
        if (res.status !== 201) throw new Error(`reply failed: ${res.status} ${await res.text()}`);
        const { id } = (await res.json()) as { id: string };
        const hex = id.replace(/-/g, '');
        requestedAt.set(hex, started);
        await sink.waitFor((m) => m.slice(sinkBefore).some((x) => x.raw.includes(hex)), 30_000);
      },
    });
    const smtpLatencies: number[] = [];
    for (const m of sink.mails.slice(sinkBefore)) {
      // Message-ID <oq.{ticket}.{message}.{hmac}@…> names our message id.
      const hex = /^Message-ID:\s*<oq\.[0-9a-f]{32}\.([0-9a-f]{32})\./im.exec(m.raw.toString('latin1'))?.[1];
      const at = hex ? requestedAt.get(hex) : undefined;
      if (at) smtpLatencies.push(m.acceptedAt - at);
    }
    const smtpP99 = percentile(smtpLatencies, 99);
    console.log(
      `smtp: ${sends.sent} replies at 50/s, accepted ${smtpLatencies.length}, p50 ${percentile(smtpLatencies, 50).toFixed(0)} ms, p99 ${smtpP99.toFixed(0)} ms, errors ${sends.errors}`,
    );

    printResult({
      idle_p99_ms: Math.round(idleP99),
      import_mails_per_s: Math.round(importRate),
      smtp_p99_ms: Math.round(smtpP99),
      rss_mb: Math.round(rss),
    });
  } finally {
    await stack.stopAll();
    await sink.stop();
    await stub?.stop();
    await dovecot.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
