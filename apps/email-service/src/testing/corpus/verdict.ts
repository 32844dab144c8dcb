import { ExpectedMail } from './corpus';

/**
 * Expected vs actual for the email fidelity corpus, per mail and overall: shared by the
 * end-to-end test (test/e2e/mail-corpus.spec.ts) and any benchmark that feeds the corpus
 * through the pipeline. Pure: the caller collects what the system stored (ActualMail).
 */

export interface ActualAttachment {
  filename: string;
  /** As the stored message references it. */
  sha256: string;
  size: number;
  /** What a download of it returned: its own hash and size, or why it failed. */
  downloaded?: { sha256: string; size: number } | { error: string };
}

export interface ActualSender {
  address: string | null;
  name: string | null;
  /** Which header the pipeline took the sender from, when it says (compared only then). */
  header?: string;
}

export interface ActualSuppressed {
  reason: string;
  sender?: { address: string | null; name: string | null };
  subject?: string | null;
  /** The raw download equals the mail as delivered; null when it could not be fetched. */
  rawIdentical: boolean | null;
}

export interface ActualMail {
  /** The APPEND failed (a harness problem, not a fidelity one): the reason. */
  notAppended?: string;
  /** Stored messages of this mail (by its IMAP UID): exactly one is right. */
  messages: number;
  /** Row id of the (first) stored message. */
  messageId?: string;
  /** Whether the message opened its ticket (the ticket subject is then the mail's). */
  openedTicket?: boolean;
  ticketSubject?: string | null;
  sender?: ActualSender;
  subject?: string | null;
  attachments?: ActualAttachment[];
  /** Every stored rendering of the body (text, full text before quote splitting, HTML). */
  bodies?: string[];
  /** Its entry in the suppressed-mail list, if any. */
  suppressed?: ActualSuppressed;
  /** Dead letters that name this mail. */
  deadLetters?: number;
  /** Anything the collector wants shown with a failure (a fallback notice, an HTTP error…). */
  notes?: string[];
}

export type Check = 'landed' | 'attachments' | 'sender' | 'name' | 'subject' | 'body' | 'suppression' | 'duplicates';
export const CHECKS: Check[] = [
  'landed',
  'attachments',
  'sender',
  'name',
  'subject',
  'body',
  'suppression',
  'duplicates',
];

export interface Verdict {
  file: string;
  shape: string;
  /** true / false, or null where the check does not apply (or cannot be seen for this mail). */
  checks: Record<Check, boolean | null>;
  problems: string[];
}

export interface CorpusSummary {
  total: number;
  /** Mails whose every applicable check passed. */
  perfect: number;
  /** Share of mails for which each check passed, over the mails where it applies (1 when none). */
  rates: Record<Check, number>;
  /** Sender address, name and subject all right. */
  identityRate: number;
  counts: Record<Check, { passed: number; applicable: number }>;
}

const nfc = (s: string) => s.normalize('NFC');
const blankToNull = (s: string | null | undefined) => (s === undefined || s === null || s.trim() === '' ? null : s);
const squash = (s: string) => nfc(s).replace(/\s+/g, ' ').trim();
const show = (v: unknown) => (v === undefined ? 'undefined' : JSON.stringify(v));

/** One mail's verdict; `sameMessageIdAs` (two mails, one Message-ID) is judged by judgeCorpus. */
export function judge(expected: ExpectedMail, actual: ActualMail): Verdict {
  const problems: string[] = [];
  const checks = Object.fromEntries(CHECKS.map((c) => [c, null])) as Record<Check, boolean | null>;
  const fail = (check: Check, problem: string) => {
    checks[check] = false;
    problems.push(`${check}: ${problem}`);
  };
  const pass = (check: Check) => {
    if (checks[check] === null) checks[check] = true;
  };

  if (actual.notAppended) {
    for (const c of CHECKS) checks[c] = false;
    checks.duplicates = expected.sameMessageIdAs ? false : null;
    problems.push(`not appended: ${actual.notAppended}`);
    return { file: expected.file, shape: expected.shape, checks, problems: problems.concat(actual.notes ?? []) };
  }

  const stored = actual.messages > 0;
  const listed = actual.suppressed !== undefined;

  // Landed: accounted for somewhere an admin or agent can see it, exactly once as a message.
  if (!stored && !listed)
    fail(
      'landed',
      `no message and no suppressed-mail entry${actual.deadLetters ? ` (${actual.deadLetters} dead letter(s))` : ''}`,
    );
  else if (actual.messages > 1) fail('landed', `stored as ${actual.messages} messages`);
  else pass('landed');

  // Suppression: noise stays out of the queue but is listed; everything else opens no entry.
  if (expected.suppressed) {
    if (stored) fail('suppression', `expected suppressed (${expected.suppressed}) but stored as a message`);
    if (!listed) fail('suppression', `not in the suppressed-mail list`);
    else {
      if (actual.suppressed!.reason !== expected.suppressed)
        fail('suppression', `reason ${show(actual.suppressed!.reason)}, expected ${show(expected.suppressed)}`);
      if (actual.suppressed!.rawIdentical !== true)
        fail(
          'suppression',
          actual.suppressed!.rawIdentical === null ? 'raw source not downloadable' : 'raw source differs from the mail',
        );
    }
    pass('suppression');
  } else {
    if (listed) fail('suppression', `suppressed as ${show(actual.suppressed!.reason)} but is a customer mail`);
    pass('suppression');
  }

  // What the agent (or the admin, for suppressed mail) reads as sender and subject.
  const seen = stored
    ? { sender: actual.sender, subject: actual.subject }
    : listed
      ? { sender: actual.suppressed!.sender, subject: actual.suppressed!.subject }
      : undefined;
  if (seen) {
    const got = seen.sender;
    if (!got) fail('sender', 'no sender recorded');
    else {
      const address = got.address?.trim().toLowerCase() ?? null;
      if (address !== expected.sender.address.toLowerCase())
        fail('sender', `address ${show(got.address)}, expected ${show(expected.sender.address)}`);
      else if ('header' in got && got.header !== undefined && got.header !== expected.sender.header)
        fail('sender', `taken from ${show(got.header)}, expected ${show(expected.sender.header)}`);
      else pass('sender');
      const name = blankToNull(got.name);
      const want = expected.sender.name;
      if ((name === null ? null : squash(name)) !== (want === null ? null : squash(want)))
        fail('name', `name ${show(got.name)}, expected ${show(want)}`);
      else pass('name');
    }
    if (!got) checks.name = false;
    const subject = blankToNull(seen.subject);
    if ((subject === null ? null : nfc(subject)) !== (expected.subject === null ? null : nfc(expected.subject)))
      fail('subject', `subject ${show(seen.subject)}, expected ${show(expected.subject)}`);
    else if (stored && actual.openedTicket && expected.subject?.trim() && actual.ticketSubject !== undefined) {
      const want = nfc(expected.subject.trim().slice(0, 200));
      if (nfc(actual.ticketSubject ?? '') !== want)
        fail('subject', `ticket subject ${show(actual.ticketSubject)}, expected ${show(want)}`);
      else pass('subject');
    } else pass('subject');
  } else {
    checks.sender = checks.name = checks.subject = false;
  }

  // Attachments: the same multiset of (file name, bytes) and every download returns those bytes.
  if (stored) {
    const got = actual.attachments ?? [];
    const key = (a: { filename: string; sha256: string; size: number }) =>
      `${nfc(a.filename)}\u0000${a.sha256}\u0000${a.size}`;
    const want = new Map<string, number>();
    for (const a of expected.attachments) want.set(key(a), (want.get(key(a)) ?? 0) + 1);
    const extra: ActualAttachment[] = [];
    for (const a of got) {
      const n = want.get(key(a));
      if (n) want.set(key(a), n - 1);
      else extra.push(a);
    }
    const missing = expected.attachments.filter((a) => {
      const n = want.get(key(a));
      if (!n) return false;
      want.set(key(a), n - 1);
      return true;
    });
    if (missing.length || extra.length) {
      // Say whether the bytes or only the names differ: a renamed file still has its bytes.
      const bytes = (a: { sha256: string; size: number }) => `${a.sha256}/${a.size}`;
      const extraBytes = new Set(extra.map(bytes));
      const describe = (a: { filename: string; sha256: string; size: number }, other: Set<string>) =>
        `${show(a.filename)} ${a.size} B ${a.sha256.slice(0, 12)}${other.has(bytes(a)) ? ' (bytes present under another name)' : ''}`;
      const missingBytes = new Set(missing.map(bytes));
      fail(
        'attachments',
        [
          missing.length ? `missing ${missing.map((a) => describe(a, extraBytes)).join(', ')}` : '',
          extra.length ? `unexpected ${extra.map((a) => describe(a, missingBytes)).join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; '),
      );
    }
    for (const a of got) {
      const d = a.downloaded;
      if (!d) fail('attachments', `${show(a.filename)} not downloaded`);
      else if ('error' in d) fail('attachments', `${show(a.filename)} download failed: ${d.error}`);
      else if (d.sha256 !== a.sha256 || d.size !== a.size)
        fail(
          'attachments',
          `${show(a.filename)} downloads as ${d.size} B ${d.sha256.slice(0, 12)}, referenced as ${a.size} B ${a.sha256.slice(0, 12)}`,
        );
    }
    pass('attachments');
  } else if (!expected.suppressed) {
    checks.attachments = false;
  }
  // A suppressed mail's files are not shown to agents: nothing to compare (null).

  // Body text.
  if (expected.bodyIncludes !== null && stored) {
    const snippet = squash(expected.bodyIncludes);
    if ((actual.bodies ?? []).some((b) => squash(b).includes(snippet))) pass('body');
    else fail('body', `no stored body contains ${show(expected.bodyIncludes)}`);
  } else if (expected.bodyIncludes !== null && !expected.suppressed) {
    checks.body = false;
  }

  return { file: expected.file, shape: expected.shape, checks, problems: problems.concat(actual.notes ?? []) };
}

/** Verdicts for the whole corpus, including the shared-Message-ID pairs, and the rates. */
export function judgeCorpus(mails: { expected: ExpectedMail; actual: ActualMail }[]): {
  verdicts: Verdict[];
  summary: CorpusSummary;
} {
  const byFile = new Map(mails.map((m) => [m.expected.file, m]));
  const verdicts = mails.map(({ expected, actual }) => {
    const v = judge(expected, actual);
    if (expected.sameMessageIdAs) {
      const other = byFile.get(expected.sameMessageIdAs);
      if (!other) {
        v.checks.duplicates = false;
        v.problems.push(`duplicates: ${expected.sameMessageIdAs} is not in this run`);
      } else if (actual.messages !== 1 || other.actual.messages !== 1) {
        v.checks.duplicates = false;
        v.problems.push(
          `duplicates: ${actual.messages} and ${other.actual.messages} messages for the two mails sharing a Message-ID`,
        );
      } else if (actual.messageId === other.actual.messageId) {
        v.checks.duplicates = false;
        v.problems.push(`duplicates: stored as one message with ${expected.sameMessageIdAs}`);
      } else v.checks.duplicates = true;
    }
    return v;
  });
  return { verdicts, summary: summarize(verdicts) };
}

export function summarize(verdicts: Verdict[]): CorpusSummary {
  const counts = Object.fromEntries(CHECKS.map((c) => [c, { passed: 0, applicable: 0 }])) as CorpusSummary['counts'];
  let identity = 0;
  let perfect = 0;
  for (const v of verdicts) {
    for (const c of CHECKS) {
      if (v.checks[c] === null) continue;
      counts[c].applicable++;
      if (v.checks[c]) counts[c].passed++;
    }
    if (v.checks.sender && v.checks.name && v.checks.subject) identity++;
    if (CHECKS.every((c) => v.checks[c] !== false)) perfect++;
  }
  const rates = Object.fromEntries(
    CHECKS.map((c) => [c, counts[c].applicable ? counts[c].passed / counts[c].applicable : 1]),
  ) as Record<Check, number>;
  return {
    total: verdicts.length,
    perfect,
    rates,
    identityRate: verdicts.length ? identity / verdicts.length : 1,
    counts,
  };
}

/** The failures as a fixed-width table (✓ pass, ✗ fail, · not applicable), then the rates. */
export function formatReport(verdicts: Verdict[], summary: CorpusSummary = summarize(verdicts)): string {
  const failed = verdicts.filter((v) => CHECKS.some((c) => v.checks[c] === false));
  const width = Math.max(4, ...failed.map((v) => v.file.length));
  const abbrev: Record<Check, string> = {
    landed: 'land',
    attachments: 'att',
    sender: 'from',
    name: 'name',
    subject: 'subj',
    body: 'body',
    suppression: 'supp',
    duplicates: 'dup',
  };
  const lines = [`email fidelity corpus: ${summary.perfect}/${summary.total} mails fully right`];
  if (failed.length) {
    lines.push('', `${'mail'.padEnd(width)}  ${CHECKS.map((c) => abbrev[c].padEnd(4)).join(' ')}  problems`);
    for (const v of failed) {
      const marks = CHECKS.map((c) => (v.checks[c] === null ? '·' : v.checks[c] ? '✓' : '✗').padEnd(4)).join(' ');
      lines.push(`${v.file.padEnd(width)}  ${marks}  ${v.problems[0] ?? ''}`);
      for (const p of v.problems.slice(1)) lines.push(`${''.padEnd(width)}  ${''.padEnd(CHECKS.length * 5 - 1)}  ${p}`);
    }
  }
  lines.push(
    '',
    CHECKS.map((c) => `${c} ${summary.counts[c].passed}/${summary.counts[c].applicable}`).join(', '),
    `sender+name+subject ${(summary.identityRate * 100).toFixed(1)} %`,
  );
  return lines.join('\n');
}
