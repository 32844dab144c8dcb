/**
 * npm run bench:mail-corpus — email fidelity and import speed on the built stack (#12):
 * ticket-service and email-service as processes, a real Dovecot.
 *
 *   import_ratio_vs_before  backlog import rate (mails enqueued per second from email-service's
 *                           start: fetch + parse + blobs + enqueue) of this build over that of
 *                           BENCH_BASELINE (default: the commit before our own MIME reader),
 *                           built beside it and run in the same run, alternating, best of two each
 *   rss_mb                  email-service peak RSS over its import rounds and the corpus
 *   corpus_*                the fixture corpus (apps/email-service/src/testing/corpus) APPENDed,
 *                           imported and checked as an agent sees it (verdict.ts)
 *
 * Env: BENCH_IMPORT (3000 mails per round), BENCH_BASELINE (a commit), BENCH_SKIP_BUILD=1.
 */
import { randomUUID } from 'node:crypto';
import { SecretBox } from '@oq/platform';
import { DovecotServer } from '../../test/support/dovecot';
import { buildBaseline } from '../support/baseline';
import { bigAttachmentMail, loadCorpus } from '../../apps/email-service/src/testing/corpus/corpus';
import { ActualMail, formatReport, judgeCorpus } from '../../apps/email-service/src/testing/corpus/verdict';
import { CorpusTarget, appendAll, collect, waitAccounted } from '../../test/support/mail-corpus-run';
import { appendParallel, mixedMail } from '../support/mails';
import { BenchStack, ROOT, machine, prepareStack, printResult, sleep } from '../support/stack';
import { loginToken } from '../../apps/ticket-service/src/auth/auth.testing';

const IMPORT = Number(process.env.BENCH_IMPORT ?? 3000);
// The last commit whose email-service parsed with postal-mime and accounted mail the old way.
const BASELINE = process.env.BENCH_BASELINE ?? 'a23ddbb';
const PASS = 'bench-imap-pw';

async function addInbox(stack: BenchStack, dovecot: DovecotServer, address: string, teamId: string) {
  await dovecot.addUser(address, PASS);
  const id = randomUUID();
  const settings = {
    imapHost: '127.0.0.1',
    imapPort: dovecot.port,
    imapSecure: false,
    imapUser: address,
    smtpHost: '127.0.0.1',
    smtpPort: 9,
  };
  const box = new SecretBox(stack.env.SECRETS_KEYS!, stack.env.SECRETS_ACTIVE_KEY!);
  await stack.pool.query(
    `INSERT INTO inboxes (id, name, channel, address, default_team_id, settings, secrets)
     VALUES ($1, $2, 'email', $2, $3, $4, $5)`,
    [id, address, teamId, JSON.stringify(settings), box.encrypt(JSON.stringify({ imapPassword: PASS }), id)],
  );
  return id;
}

/** One backlog import: N mails appended while email-service is down, then its enqueue rate. */
async function importRound(
  stack: BenchStack,
  dovecot: DovecotServer,
  teamId: string,
  label: string,
  root: string,
  ticketUrl: string,
): Promise<{ rate: number; rssMb: number }> {
  const address = `${label}-${randomUUID().slice(0, 8)}@bench.test`;
  const inboxId = await addInbox(stack, dovecot, address, teamId);
  await appendParallel(
    dovecot,
    address,
    Array.from({ length: IMPORT }, (_, i) => mixedMail(i, label, address)),
    4,
  );
  const started = Date.now();
  const email = await stack.start(
    'email-service',
    { EMAIL_POLL_FALLBACK_MS: '600000', TICKET_SERVICE_URL: ticketUrl },
    root,
  );
  try {
    for (;;) {
      const cur = await stack.pool.query('SELECT last_uid FROM email_imap_cursors WHERE inbox_id = $1', [inboxId]);
      if (Number(cur.rows[0]?.last_uid ?? 0) >= IMPORT) break;
      if (Date.now() - started > 600_000) throw new Error(`${label}: import stalled`);
      await sleep(50);
    }
    const rate = IMPORT / ((Date.now() - started) / 1000);
    console.log(
      `${label}: ${IMPORT} mails enqueued at ${rate.toFixed(0)}/s, peak RSS ${email.peakRssMb().toFixed(0)} MB`,
    );
    return { rate, rssMb: email.peakRssMb() };
  } finally {
    await email.stop();
    // ticket-service drains this round before the next is timed, so rounds do not compete for the cores.
    const drainStart = Date.now();
    while (
      Number((await stack.pool.query('SELECT count(*) AS n FROM messages WHERE inbox_id = $1', [inboxId])).rows[0].n) <
        IMPORT &&
      Date.now() - drainStart < 600_000
    )
      await sleep(200);
  }
}

/** The corpus through this build: APPEND, import, then each mail as the agent API shows it. */
async function corpusRound(stack: BenchStack, dovecot: DovecotServer, teamId: string, ticketUrl: string) {
  const address = 'support@wallet.test';
  const inboxId = await addInbox(stack, dovecot, address, teamId);
  const accessToken = await loginToken(ticketUrl, stack.env.ADMIN_EMAIL!, stack.env.ADMIN_PASSWORD);
  const target: CorpusTarget = {
    query: async (sql, params) => (await stack.pool.query(sql, params)).rows,
    base: ticketUrl,
    token: accessToken,
    inboxId,
    address,
    dovecot,
    stallMs: 60_000,
  };
  const corpus = [...loadCorpus(), await bigAttachmentMail()];
  const appended = await appendAll(target, corpus);
  const email = await stack.start('email-service', { TICKET_SERVICE_URL: ticketUrl });
  try {
    const uids = [...appended.values()].filter((u): u is number => typeof u === 'number');
    const state = await waitAccounted(target, uids);
    const results = [];
    for (const m of corpus) {
      const uid = appended.get(m.file);
      const actual: ActualMail =
        typeof uid === 'number'
          ? await collect(target, m, uid, state)
          : { notAppended: String(uid?.message), messages: 0 };
      results.push({ expected: m.expected, actual });
    }
    const { verdicts, summary } = judgeCorpus(results);
    console.log(formatReport(verdicts, summary));
    return { summary, verdicts, rssMb: email.peakRssMb() };
  } finally {
    await email.stop();
  }
}

async function main() {
  const baseline = buildBaseline(BASELINE);
  const stack = await prepareStack('mailcorpus');
  const dovecot = await DovecotServer.start({});
  try {
    const ticket = await stack.start('ticket-service');
    const [{ id: teamId }] = (await stack.pool.query(`INSERT INTO teams (name) VALUES ('Mail') RETURNING id`)).rows;
    console.log(`machine: ${machine()}; baseline ${BASELINE} built at ${baseline}`);

    const before: number[] = [];
    const after: number[] = [];
    let rss = 0;
    for (let round = 0; round < 2; round++) {
      before.push((await importRound(stack, dovecot, teamId, `before${round}`, baseline, ticket.url)).rate);
      const now = await importRound(stack, dovecot, teamId, `after${round}`, ROOT, ticket.url);
      after.push(now.rate);
      rss = Math.max(rss, now.rssMb);
    }
    const ratio = Math.max(...after) / Math.max(...before);
    const corpus = await corpusRound(stack, dovecot, teamId, ticket.url);
    rss = Math.max(rss, corpus.rssMb);
    const pct = (x: number) => (100 * x).toFixed(1);
    const attachments = corpus.summary.counts.attachments;
    console.log(
      `import: before ${before.map((r) => r.toFixed(0)).join(', ')}/s, after ${after.map((r) => r.toFixed(0)).join(', ')}/s → ratio ${ratio.toFixed(2)}`,
    );

    printResult({
      corpus_mails: corpus.summary.total,
      corpus_landed_pct: pct(corpus.summary.rates.landed),
      attachments_identical_pct: pct(corpus.summary.rates.attachments),
      attachment_mails: attachments.applicable,
      senders_right_pct: pct(corpus.summary.identityRate),
      import_ratio_vs_before: ratio.toFixed(2),
      import_before_per_s: Math.round(Math.max(...before)),
      import_after_per_s: Math.round(Math.max(...after)),
      rss_mb: Math.round(rss),
    });
  } finally {
    await stack.stopAll();
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
