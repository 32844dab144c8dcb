import { bigAttachmentMail, loadCorpus } from '../../apps/email-service/src/testing/corpus/corpus';
import { ActualMail, formatReport, judgeCorpus } from '../../apps/email-service/src/testing/corpus/verdict';
import { CorpusTarget, appendAll, collect, waitAccounted } from '../support/mail-corpus-run';
import { writeFileSync } from 'node:fs';
import { EmailStack } from './email-stack';

/**
 * Email fidelity, end to end: every mail of the corpus (apps/email-service/src/testing/corpus,
 * real-world shapes from Outlook/TNEF to raw 8-bit GB2312 headers, plus a 20 MB attachment) is
 * APPENDed to a real Dovecot inbox and read by the real email-service and ticket-service. Then,
 * per mail (found by its IMAP UID): sender address and name, subject, body snippet, and every
 * attachment downloaded through the agent API and compared byte for byte with its source file;
 * queue noise (backscatter, spam) must open no ticket and be listed, raw source intact, by the
 * admin suppressed-mail API. The checking logic lives in corpus/verdict.ts (shared with benchmarks).
 */
const ADDRESS = 'support@wallet.test';
/** Give up waiting once this long passes without another mail being accounted for. */
const STALL_MS = Number(process.env.MAIL_CORPUS_STALL_MS ?? 60_000);
// MAIL_CORPUS_DUMP=<file>: write what was collected per mail (the verdict's input) there as JSON.

describe('email fidelity corpus: real-world mails through Dovecot, email-service and ticket-service', () => {
  let s: EmailStack;

  beforeAll(async () => {
    s = await EmailStack.start(ADDRESS);
  }, 120_000);

  afterAll(async () => s?.stop());

  it('lands every mail once, with byte-identical attachments and the right sender, name and subject', async () => {
    const corpus = [...loadCorpus(), await bigAttachmentMail()];
    expect(corpus.length).toBeGreaterThanOrEqual(61);

    const target: CorpusTarget = {
      query: (sql, params) => s.ds.query(sql, params),
      base: s.base,
      token: s.token,
      inboxId: s.inboxId,
      address: ADDRESS,
      dovecot: s.dovecot,
      stallMs: STALL_MS,
    };
    const appended = await appendAll(target, corpus);
    const uids = [...appended.values()].filter((u): u is number => typeof u === 'number');
    const state = await waitAccounted(target, uids);

    const actuals = new Map<string, ActualMail>();
    for (const m of corpus) {
      const uid = appended.get(m.file);
      actuals.set(
        m.file,
        typeof uid === 'number'
          ? await collect(target, m, uid, state)
          : { notAppended: String(uid?.message), messages: 0 },
      );
    }
    if (process.env.MAIL_CORPUS_DUMP)
      writeFileSync(process.env.MAIL_CORPUS_DUMP, JSON.stringify(Object.fromEntries(actuals), null, 2));
    const { verdicts, summary } = judgeCorpus(
      corpus.map((m) => ({ expected: m.expected, actual: actuals.get(m.file)! })),
    );
    const notes = [
      state.suppressedApi === 200
        ? ''
        : `GET /v1/admin/suppressed-mail answered ${state.suppressedApi}: suppressed mails cannot be found`,
      state.stalled ? `stopped waiting after ${STALL_MS} ms without progress` : '',
    ].filter(Boolean);
    console.log([formatReport(verdicts, summary), ...notes].join('\n'));

    const failing = (check: keyof typeof summary.rates) =>
      verdicts.filter((v) => v.checks[check] === false).map((v) => v.file);
    const identityExceptions = verdicts
      .filter((v) => !(v.checks.sender && v.checks.name && v.checks.subject))
      .map((v) => `${v.file}: ${v.problems.filter((p) => /^(sender|name|subject):/.test(p)).join('; ')}`);
    expect({
      notLanded: failing('landed'),
      attachmentsDiffer: failing('attachments'),
      suppressionWrong: failing('suppression'),
      duplicatesWrong: failing('duplicates'),
      identityAtLeast98: summary.identityRate >= 0.98 ? true : identityExceptions,
      bodyAtLeast98: summary.rates.body >= 0.98 ? true : failing('body'),
    }).toEqual({
      notLanded: [],
      attachmentsDiffer: [],
      suppressionWrong: [],
      duplicatesWrong: [],
      identityAtLeast98: true,
      bodyAtLeast98: true,
    });
    if (identityExceptions.length)
      console.log(`sender/name/subject exceptions (within 2 %):\n${identityExceptions.join('\n')}`);
  }, 900_000);
});
