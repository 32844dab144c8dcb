/**
 * Runs the email fidelity corpus against a running stack and collects, per mail, what an agent
 * sees (found by IMAP UID): shared by test/e2e/mail-corpus.spec.ts and bench:mail-corpus.
 */
import { DovecotServer } from './dovecot';
import { BIG_ATTACHMENT_FILE, CorpusMail, sha256 } from '../../apps/email-service/src/testing/corpus/corpus';
import { ActualAttachment, ActualMail, ActualSender } from '../../apps/email-service/src/testing/corpus/verdict';

/** The stack under test: its database, its agent API (an admin's token) and the mailbox. */
export interface CorpusTarget {
  query(sql: string, params: unknown[]): Promise<any[]>;
  base: string;
  token: string;
  inboxId: string;
  address: string;
  dovecot: DovecotServer;
  /** Give up waiting once this long passes without another mail being accounted for. */
  stallMs: number;
}

interface MessageRow {
  /** The whole messages row (to_jsonb), so new columns show up here without changing the query. */
  message: Record<string, any>;
  ticket_id: string;
  ticket_subject: string | null;
  opened_ticket: boolean;
  contact_name: string | null;
  contact_email: string | null;
}

interface SuppressedItem {
  id: string;
  inboxId: string;
  reason: string;
  detail?: string;
  sender?: { address: string | null; name: string | null };
  subject?: string | null;
  receivedAt?: string;
  imapUid: number;
}

/**
 * LEAD: the one place that says where a stored message's sender is. Today ticket-service keeps
 * it only on the contact (its name comes from the first mail that created the contact; its email
 * identity is the address) — the corpus gives every mail its own sender address, so that is
 * unambiguous here. Once messages carry their own sender columns, read them here (the row has
 * every column of `messages` under `row.message`); `header` too, if the pipeline records which
 * header the sender came from.
 */
function messageSender(row: MessageRow): ActualSender {
  const m = row.message;
  if ('sender_address' in m)
    return {
      address: m.sender_address ?? null,
      name: m.sender_name ?? null,
      ...(m.sender_header ? { header: m.sender_header } : {}),
    };
  const header = m.metadata?.senderHeader ?? m.metadata?.email?.senderHeader;
  return { address: row.contact_email, name: row.contact_name, ...(header ? { header } : {}) };
}

/** APPENDs every mail over one connection (a fresh one after a refusal); the UID or the error per file. */
export async function appendAll(s: CorpusTarget, mails: CorpusMail[]): Promise<Map<string, number | Error>> {
  const out = new Map<string, number | Error>();
  let client = await s.dovecot.client(s.address);
  try {
    for (const m of mails) {
      try {
        const res = await client.append('INBOX', m.raw);
        const uid = res && res.uid !== undefined ? Number(res.uid) : 0;
        if (!uid) throw new Error('APPEND returned no UID');
        out.set(m.file, uid);
      } catch (err) {
        out.set(m.file, err as Error);
        await client.logout().catch(() => undefined);
        client = await s.dovecot.client(s.address);
      }
    }
  } finally {
    await client.logout().catch(() => undefined);
  }
  return out;
}

export interface Accounting {
  messages: Map<number, number>;
  suppressed: Map<number, SuppressedItem>;
  deadLetters: Map<number, number>;
  suppressedApi: number;
  stalled: boolean;
}

/** Polls the stores until every UID is a message, a suppressed-mail entry or a dead letter. */
export async function waitAccounted(s: CorpusTarget, uids: number[]): Promise<Accounting> {
  let progressAt = Date.now();
  let done = 0;
  for (;;) {
    const a = await account(s, uids);
    const n = uids.filter((u) => a.messages.has(u) || a.suppressed.has(u) || a.deadLetters.has(u)).length;
    if (n > done) progressAt = Date.now();
    done = n;
    if (n === uids.length) return { ...a, stalled: false };
    if (Date.now() - progressAt > s.stallMs) return { ...a, stalled: true };
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function account(s: CorpusTarget, uids: number[]): Promise<Omit<Accounting, 'stalled'>> {
  const keys = uids.map(String);
  const messages = new Map<number, number>();
  for (const r of await s.query(
    `SELECT m.metadata->'imap'->>'uid' AS uid, count(*)::int AS n FROM messages m
      WHERE m.inbox_id = $1 AND m.direction = 'inbound' AND m.metadata->'imap'->>'uid' = ANY($2::text[])
      GROUP BY 1`,
    [s.inboxId, keys],
  ))
    messages.set(Number(r.uid), r.n);
  const deadLetters = new Map<number, number>();
  for (const r of await s.query(
    `SELECT payload->'metadata'->'imap'->>'uid' AS uid, count(*)::int AS n FROM dead_letters
      WHERE payload->>'inboxId' = $1 AND payload->'metadata'->'imap'->>'uid' = ANY($2::text[]) GROUP BY 1`,
    [s.inboxId, keys],
  ))
    deadLetters.set(Number(r.uid), r.n);
  const list = await suppressedList(s);
  const suppressed = new Map<number, SuppressedItem>();
  for (const item of list.items) if (item.inboxId === s.inboxId) suppressed.set(Number(item.imapUid), item);
  return { messages, suppressed, deadLetters, suppressedApi: list.status };
}

/** Every page of the admin suppressed-mail list. */
async function suppressedList(s: CorpusTarget): Promise<{ status: number; items: SuppressedItem[] }> {
  const items: SuppressedItem[] = [];
  let cursor: string | null | undefined;
  for (let page = 0; page < 100; page++) {
    const res = await fetch(
      `${s.base}/v1/admin/suppressed-mail${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`,
      { headers: { authorization: `Bearer ${s.token}` } },
    );
    if (res.status !== 200) return { status: res.status, items };
    const body = (await res.json()) as { items?: SuppressedItem[]; nextCursor?: string | null };
    items.push(...(body.items ?? []));
    cursor = body.nextCursor;
    if (!cursor) break;
  }
  return { status: 200, items };
}

/** What the system stored for one appended mail, in the verdict's terms. */
export async function collect(s: CorpusTarget, mail: CorpusMail, uid: number, state: Accounting): Promise<ActualMail> {
  const rows: MessageRow[] = await s.query(
    `SELECT to_jsonb(m) AS message, t.id AS ticket_id, t.subject AS ticket_subject,
            (SELECT f.id FROM messages f WHERE f.ticket_id = m.ticket_id ORDER BY f.created_at, f.id LIMIT 1) = m.id AS opened_ticket,
            c.name AS contact_name,
            (SELECT ci.value FROM contact_identities ci
              WHERE ci.contact_id = m.author_contact_id AND ci.kind = 'email' ORDER BY ci.created_at LIMIT 1) AS contact_email
       FROM messages m JOIN tickets t ON t.id = m.ticket_id LEFT JOIN contacts c ON c.id = m.author_contact_id
      WHERE m.inbox_id = $1 AND m.direction = 'inbound' AND m.metadata->'imap'->>'uid' = $2
      ORDER BY m.created_at, m.id`,
    [s.inboxId, String(uid)],
  );
  const actual: ActualMail = { messages: rows.length, deadLetters: state.deadLetters.get(uid) ?? 0, notes: [] };
  const row = rows[0];
  if (row) {
    const m = row.message;
    actual.messageId = m.id;
    actual.openedTicket = row.opened_ticket;
    actual.ticketSubject = row.ticket_subject;
    actual.sender = messageSender(row);
    actual.subject = m.subject ?? null;
    actual.bodies = [m.text, m.metadata?.fullText, m.html].filter((b): b is string => typeof b === 'string');
    actual.attachments = [];
    for (const ref of (m.attachments ?? []) as { filename: string; sha256: string; size: number }[]) {
      const a: ActualAttachment = { filename: ref.filename, sha256: ref.sha256, size: Number(ref.size) };
      a.downloaded = await download(s, ref.sha256, row.ticket_id);
      actual.attachments.push(a);
    }
    if (m.metadata?.notice) actual.notes!.push(`kept raw: ${m.metadata.notice}`);
    for (const n of (m.metadata?.notices ?? []) as string[]) actual.notes!.push(`notice: ${n}`);
    if (m.metadata?.mimeWarnings?.length) actual.notes!.push(`mime warnings: ${m.metadata.mimeWarnings.join(', ')}`);
  }
  const item = state.suppressed.get(uid);
  if (item) {
    const raw = await fetch(`${s.base}/v1/admin/suppressed-mail/${encodeURIComponent(item.id)}/raw`, {
      headers: { authorization: `Bearer ${s.token}` },
    });
    const bytes = raw.status === 200 ? Buffer.from(await raw.arrayBuffer()) : undefined;
    if (!bytes) actual.notes!.push(`suppressed raw download: HTTP ${raw.status}`);
    actual.suppressed = {
      reason: item.reason,
      sender: item.sender,
      subject: item.subject ?? null,
      rawIdentical: bytes ? bytes.equals(mail.delivered) : null,
    };
  }
  if (mail.file === BIG_ATTACHMENT_FILE && !row && !item) actual.notes!.push(`raw size ${mail.raw.length} B`);
  return actual;
}

const downloads = new Map<string, { sha256: string; size: number } | { error: string }>();

/** An attachment through the agent API, as an agent's browser gets it. */
async function download(s: CorpusTarget, hash: string, ticketId: string) {
  const key = `${ticketId}/${hash}`;
  let got = downloads.get(key);
  if (!got) {
    const res = await fetch(`${s.base}/v1/attachments/${hash}?ticketId=${ticketId}`, {
      headers: { authorization: `Bearer ${s.token}` },
    });
    if (res.status !== 200) got = { error: `HTTP ${res.status} ${(await res.text()).slice(0, 200)}` };
    else {
      const bytes = Buffer.from(await res.arrayBuffer());
      got = { sha256: sha256(bytes), size: bytes.length };
    }
    downloads.set(key, got);
  }
  return got;
}
