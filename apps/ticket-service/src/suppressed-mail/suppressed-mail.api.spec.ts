import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INBOUND_MESSAGE_VERSION, JobName, QueueName, jobOptions } from '@oq/contracts';
import { BlobStore, QueueService } from '@oq/platform';
import { BlobGcService } from '../attachments/blob-gc.service';
import { ApiHarness } from '../tickets/api-test-harness';

describe('suppressed mail (real Postgres + Redis, booted ticket-service)', () => {
  const h = new ApiHarness();
  const blobDir = mkdtempSync(join(tmpdir(), 'oq-suppressed-'));
  let blobs: BlobStore;
  let otherInbox: string;

  beforeAll(async () => {
    await h.start({ BLOB_DIR: blobDir });
    blobs = h.app.get(BlobStore);
    [{ id: otherInbox }] = await h.ds.query(
      `INSERT INTO inboxes (name, channel, address, default_team_id) VALUES ('billing', 'email', 'billing@wallet.example', $1)
       RETURNING id`,
      [h.ids.teamA],
    );
  }, 30_000);
  afterAll(async () => {
    await h.stop();
    rmSync(blobDir, { recursive: true, force: true });
  });

  /** A raw mail in the blob store and the job email-service would send for it. */
  async function suppressedMail(
    o: { reason?: 'spam' | 'backscatter'; inboxId?: string; from?: string; name?: string; subject?: string } = {},
    email: Record<string, unknown> = {},
  ) {
    const messageId = `<${randomUUID()}@mail.example.org>`;
    const raw = Buffer.concat([
      Buffer.from(`From: ${o.name ?? 'Mailer'} <${o.from ?? 'mailer@example.org'}>\r\nMessage-ID: ${messageId}\r\n`),
      Buffer.from(`Subject: ${o.subject ?? 'You won'}\r\nContent-Type: text/plain; charset=latin1\r\n\r\n`),
      Buffer.from([0x47, 0x72, 0xfc, 0xdf, 0x65, 0x0d, 0x0a, 0x00, 0xff]), // "Grüße" in latin1, a NUL, 0xff
      randomBytes(32),
    ]);
    const stored = await blobs.put(raw);
    const attachment = await blobs.put(randomBytes(40));
    const now = new Date().toISOString();
    const payload = {
      v: INBOUND_MESSAGE_VERSION,
      inboxId: o.inboxId ?? h.ids.inbox_email,
      channel: 'email',
      externalId: `${messageId}#${stored.sha256.slice(0, 16)}`,
      sourceTime: now,
      receivedAt: now,
      sender: { kind: 'email', value: o.from ?? 'mailer@example.org', displayName: o.name ?? 'Mailer' },
      subject: o.subject ?? 'You won',
      text: 'Claim your prize: card 4111 1111 1111 1111',
      attachments: [{ ...attachment, filename: 'prize.pdf.exe', contentType: 'application/pdf' }],
      email: {
        messageId,
        senderHeader: 'from',
        suppressed: {
          reason: o.reason ?? 'spam',
          detail: o.reason === 'backscatter' ? 'bounce for a Message-ID we never sent' : 'X-Spam-Flag: YES',
          raw: stored,
        },
        ...email,
      },
      metadata: { imap: { uid: 4242, uidValidity: 7, folder: 'INBOX' } },
    };
    return { payload, raw, messageId };
  }

  const enqueue = (...payloads: unknown[]) =>
    h.app
      .get(QueueService)
      .queue(QueueName.Inbound)
      .addBulk(
        payloads.map((data) => ({
          name: JobName.InboundMessage,
          data,
          opts: jobOptions(JobName.InboundMessage, { jobId: randomUUID() }),
        })),
      );
  async function drained() {
    const q = h.app.get(QueueService).queue(QueueName.Inbound);
    for (const deadline = Date.now() + 10_000; ; await new Promise((r) => setTimeout(r, 25))) {
      const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      if (Object.values(c).every((n) => n === 0)) return;
      if (Date.now() > deadline) throw new Error(`inbound not drained: ${JSON.stringify(c)}`);
    }
  }
  /** Ingests and answers the suppressed mail's id. */
  async function file(payload: { inboxId: string; externalId: string }, times = 1): Promise<string> {
    await enqueue(...Array.from({ length: times }, () => payload));
    await drained();
    const [row] = await h.ds.query(`SELECT id FROM suppressed_mails WHERE inbox_id = $1 AND external_id = $2`, [
      payload.inboxId,
      payload.externalId,
    ]);
    if (!row) throw new Error(`suppressed mail ${payload.externalId} was not filed`);
    return row.id;
  }
  const counts = async () =>
    Object.fromEntries(
      await Promise.all(
        ['tickets', 'messages', 'contacts', 'contact_identities', 'conversations', 'suppressed_mails'].map(
          async (t) => [t, (await h.ds.query(`SELECT count(*)::int AS n FROM ${t}`))[0].n],
        ),
      ),
    );
  const metric = async (reason: string) => {
    const text = await (await fetch(`${h.base}/metrics`)).text();
    const m = new RegExp(
      `^oq_suppressed_mails_total\\{reason="${reason}",service="ticket-service"\\} (\\d+)`,
      'm',
    ).exec(text);
    return m ? Number(m[1]) : 0;
  };

  it('files the mail instead of a ticket — no ticket, message or contact — once however often it arrives', async () => {
    const before = await counts();
    const spamBefore = await metric('spam');
    const { payload } = await suppressedMail({ from: 'lottery@spam.example', name: 'Lottery' });
    const id = await file(payload, 3);
    await file(payload);
    expect(await counts()).toEqual({ ...before, suppressed_mails: before.suppressed_mails + 1 });
    expect(await metric('spam')).toBe(spamBefore + 1);

    const [row] = await h.ds.query(`SELECT * FROM suppressed_mails WHERE id = $1`, [id]);
    expect(row).toMatchObject({
      inbox_id: h.ids.inbox_email,
      external_id: payload.externalId,
      reason: 'spam',
      detail: 'X-Spam-Flag: YES',
      sender_address: 'lottery@spam.example',
      sender_name: 'Lottery',
      subject: 'You won',
      raw_sha256: payload.email.suppressed.raw.sha256,
      raw_size: String(payload.email.suppressed.raw.size),
      imap_uid: '4242',
      released_at: null,
      deleted_at: null,
    });
    // The stored payload is what a release ingests: card numbers masked like any message.
    expect(row.message.text).toBe('Claim your prize: card •••• •••• •••• 1111');
    expect(row.message.email.suppressed.reason).toBe('spam');
    expect(JSON.stringify(row.message)).not.toContain('4111 1111');
  });

  it('lists newest first, filters by inbox and reason, pages by cursor; detail, raw and attachments for admins', async () => {
    const made: string[] = [];
    for (const o of [
      { reason: 'spam' as const },
      { reason: 'backscatter' as const },
      { reason: 'spam' as const, inboxId: otherInbox },
      { reason: 'backscatter' as const, inboxId: otherInbox },
      { reason: 'spam' as const },
    ])
      made.push(await file((await suppressedMail({ ...o, subject: `list ${made.length}` })).payload));
    const newest = [...made].reverse();

    const all = await h.call('admin', 'GET', '/v1/admin/suppressed-mail?limit=200');
    expect(all.status).toBe(200);
    expect(all.body.items.map((i: { id: string }) => i.id).slice(0, 5)).toEqual(newest);
    expect(all.body.nextCursor).toBeNull();
    expect(all.body.items[0]).toEqual({
      id: made[4],
      inboxId: h.ids.inbox_email,
      reason: 'spam',
      detail: 'X-Spam-Flag: YES',
      sender: { address: 'mailer@example.org', name: 'Mailer' },
      subject: 'list 4',
      receivedAt: expect.any(String),
      imapUid: 4242,
      releasedAt: null,
      releasedTicketId: null,
    });

    const ids = async (query: string) =>
      (await h.call('admin', 'GET', `/v1/admin/suppressed-mail?${query}`)).body.items.map((i: { id: string }) => i.id);
    expect(await ids(`inboxId=${otherInbox}`)).toEqual([made[3], made[2]]);
    expect(await ids(`inboxId=${otherInbox}&reason=spam`)).toEqual([made[2]]);
    expect((await ids('reason=backscatter')).slice(0, 2)).toEqual([made[3], made[1]]);

    // Pages of two walk the whole list exactly once.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await h.call(
        'admin',
        'GET',
        `/v1/admin/suppressed-mail?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((i) => i.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.body.items.map((i: { id: string }) => i.id));

    for (const bad of ['cursor=bm9wZQ', 'reason=ham', 'inboxId=nope', 'limit=0', 'released=maybe']) {
      const res = await h.call('admin', 'GET', `/v1/admin/suppressed-mail?${bad}`);
      expect([bad, res.status]).toEqual([bad, 400]);
    }

    // Detail: the text preview and attachments of the stored payload.
    const { payload, raw } = await suppressedMail({ reason: 'backscatter', subject: 'Undelivered Mail' });
    const id = await file(payload);
    const detail = await h.call('admin', 'GET', `/v1/admin/suppressed-mail/${id}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({
      id,
      reason: 'backscatter',
      detail: 'bounce for a Message-ID we never sent',
      subject: 'Undelivered Mail',
      externalId: payload.externalId,
      senderHeader: 'from',
      raw: payload.email.suppressed.raw,
      text: 'Claim your prize: card •••• •••• •••• 1111',
      textTruncated: false,
      attachments: [
        {
          sha256: payload.attachments[0].sha256,
          size: 40,
          filename: 'prize.pdf.exe',
          contentType: 'application/pdf',
          inline: false,
        },
      ],
      releasedBy: null,
      releasedMessageId: null,
    });

    // The raw source: exactly the bytes email-service stored.
    const res = await fetch(`${h.base}/v1/admin/suppressed-mail/${id}/raw`, {
      headers: { authorization: `Bearer ${h.tokens.admin}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('message/rfc822');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${id}.eml"; filename*=UTF-8''${id}.eml`);
    expect(Buffer.from(await res.arrayBuffer()).equals(raw)).toBe(true);

    const att = await fetch(`${h.base}/v1/admin/suppressed-mail/${id}/attachments/${payload.attachments[0].sha256}`, {
      headers: { authorization: `Bearer ${h.tokens.admin}` },
    });
    expect(att.status).toBe(200);
    expect(att.headers.get('content-type')).toBe('application/octet-stream');
    expect((await att.arrayBuffer()).byteLength).toBe(40);
    // Only what the mail carries: its raw source is not one of its attachments.
    const notOne = await h.call(
      'admin',
      'GET',
      `/v1/admin/suppressed-mail/${id}/attachments/${payload.email.suppressed.raw.sha256}`,
    );
    expect(notOne.status).toBe(404);
  });

  it('is admin-only: agents get 403, no token 401', async () => {
    const id = await file((await suppressedMail()).payload);
    for (const [method, path] of [
      ['GET', '/v1/admin/suppressed-mail'],
      ['GET', `/v1/admin/suppressed-mail/${id}`],
      ['GET', `/v1/admin/suppressed-mail/${id}/raw`],
      ['POST', `/v1/admin/suppressed-mail/${id}/release`],
      ['DELETE', `/v1/admin/suppressed-mail/${id}`],
    ]) {
      expect([method, path, (await h.call('alice', method, path)).status]).toEqual([method, path, 403]);
      expect((await fetch(`${h.base}${path}`, { method })).status).toBe(401);
    }
    const [row] = await h.ds.query(`SELECT released_at, deleted_at FROM suppressed_mails WHERE id = $1`, [id]);
    expect(row).toEqual({ released_at: null, deleted_at: null });
  });

  it('release ingests it as a normal mail: one ticket however often released, threading like any mail', async () => {
    const { payload, messageId } = await suppressedMail({ from: 'Real.Customer@Example.com', name: 'Real Customer' });
    const id = await file(payload);
    const before = await counts();

    // Released twice at once and once more later: one ticket, one message, the same answer.
    const results = await Promise.all([
      h.call('admin', 'POST', `/v1/admin/suppressed-mail/${id}/release`),
      h.call('admin', 'POST', `/v1/admin/suppressed-mail/${id}/release`),
    ]);
    const again = await h.call('admin', 'POST', `/v1/admin/suppressed-mail/${id}/release`);
    for (const r of [...results, again]) expect(r.status).toBe(200);
    const { ticketId, messageId: storedId } = results[0].body;
    for (const r of [...results, again]) expect(r.body).toEqual({ ticketId, messageId: storedId });
    const after = await counts();
    expect(after.tickets - before.tickets).toBe(1);
    expect(after.messages - before.messages).toBe(1);
    expect(after.suppressed_mails).toBe(before.suppressed_mails);

    // The ticket and message are what ingest makes of such a mail; the admin who let it in is on record.
    const { body: t } = await h.call('admin', 'GET', `/v1/tickets/${ticketId}`);
    expect(t).toMatchObject({ subject: 'You won', status: 'new', channel: 'email', teamId: h.ids.teamA });
    expect(t.messages).toHaveLength(1);
    expect(t.messages[0]).toMatchObject({
      id: storedId,
      externalId: payload.externalId,
      emailMessageId: messageId,
      text: 'Claim your prize: card •••• •••• •••• 1111',
      attachments: payload.attachments,
      sender: { name: 'Real Customer', address: 'Real.Customer@Example.com' },
      senderHeader: 'from',
    });
    expect(t.messages[0].metadata.releasedFromSuppression).toEqual({
      suppressedMailId: id,
      reason: 'spam',
      detail: 'X-Spam-Flag: YES',
      releasedBy: h.ids.admin,
    });
    expect(t.messages[0].metadata.email.suppressed).toBeUndefined();
    expect(t.participants.map((p: { name: string; role: string }) => [p.name, p.role])).toEqual([
      ['Real Customer', 'requester'],
    ]);
    const released = t.audit.filter((a: { action: string }) => a.action === 'suppressed_mail_released');
    expect(released).toEqual([
      expect.objectContaining({
        actorType: 'agent',
        actorAgentId: h.ids.admin,
        changes: { suppressedMailId: id, reason: 'spam', detail: 'X-Spam-Flag: YES', messageId: storedId },
      }),
    ]);
    expect(await h.outboxEvents(ticketId, ['ticket.created', 'message.created'])).toEqual(
      expect.arrayContaining(['ticket.created', 'message.created']),
    );

    const row = await h.call('admin', 'GET', `/v1/admin/suppressed-mail/${id}`);
    expect(row.body).toMatchObject({
      releasedTicketId: ticketId,
      releasedMessageId: storedId,
      releasedBy: h.ids.admin,
    });
    expect(row.body.releasedAt).not.toBeNull();
    const list = async (q: string) =>
      (await h.call('admin', 'GET', `/v1/admin/suppressed-mail?${q}`)).body.items.map((i: { id: string }) => i.id);
    expect(await list('limit=200')).not.toContain(id);
    expect(await list('released=true')).toEqual([id]);

    // email-service redelivering the suppressed job changes nothing: not filed again, not a second message.
    const settled = await counts();
    await file(payload, 2);
    expect(await counts()).toEqual(settled);
    expect((await h.ds.query(`SELECT released_ticket_id FROM suppressed_mails WHERE id = $1`, [id]))[0]).toEqual({
      released_ticket_id: ticketId,
    });

    // The customer's reply threads onto the released ticket like onto any other.
    const reply = await h.ingest({
      inboxId: h.ids.inbox_email,
      channel: 'email',
      externalId: `<reply-${randomUUID()}@example.com>`,
      sender: { kind: 'email', value: 'real.customer@example.com' },
      subject: 'Re: You won',
      text: 'this was not spam',
      email: { messageId: `<reply-${randomUUID()}@example.com>`, inReplyTo: [messageId], senderHeader: 'from' },
    } as never);
    expect(reply).toBe(ticketId);
  });

  it('a released reply lands on the ticket it answers, as it would have unsuppressed', async () => {
    const orig = `<orig-${randomUUID()}@example.com>`;
    const ticketId = await h.ingest({
      inboxId: h.ids.inbox_email,
      channel: 'email',
      externalId: orig,
      sender: { kind: 'email', value: 'flagged@example.com', displayName: 'Flagged Customer' },
      subject: 'Refund',
      text: 'refund please',
      email: { messageId: orig, senderHeader: 'from' },
    } as never);
    const { payload } = await suppressedMail(
      { from: 'flagged@example.com', name: 'F. Customer', subject: 'Re: Refund' },
      { inReplyTo: [orig] },
    );
    const id = await file(payload);
    const res = await h.call('admin', 'POST', `/v1/admin/suppressed-mail/${id}/release`);
    expect(res.status).toBe(200);
    expect(res.body.ticketId).toBe(ticketId);
    const { body: t } = await h.call('admin', 'GET', `/v1/tickets/${ticketId}`);
    expect(t.customerMessageCount).toBe(2);
    expect(t.messages.map((m: { sender: { name: string } }) => m.sender.name)).toEqual([
      'Flagged Customer',
      'F. Customer',
    ]);
  });

  it('soft-deletes: gone for every route and list; 404 unknown, 400 malformed', async () => {
    const { payload } = await suppressedMail();
    const id = await file(payload);
    expect((await h.call('admin', 'DELETE', `/v1/admin/suppressed-mail/${id}`)).status).toBe(204);
    expect((await h.call('admin', 'DELETE', `/v1/admin/suppressed-mail/${id}`)).status).toBe(204);
    for (const [method, path] of [
      ['GET', `/v1/admin/suppressed-mail/${id}`],
      ['GET', `/v1/admin/suppressed-mail/${id}/raw`],
      ['POST', `/v1/admin/suppressed-mail/${id}/release`],
    ])
      expect([path, (await h.call('admin', method, path)).status]).toEqual([path, 404]);
    for (const q of ['limit=200', 'released=true'])
      expect(
        (await h.call('admin', 'GET', `/v1/admin/suppressed-mail?${q}`)).body.items.map((i: { id: string }) => i.id),
      ).not.toContain(id);
    const [row] = await h.ds.query(`SELECT deleted_at, released_at FROM suppressed_mails WHERE id = $1`, [id]);
    expect(row.deleted_at).not.toBeNull();
    expect(row.released_at).toBeNull();
    // Redelivery of a deleted mail does not bring it back.
    await file(payload);
    expect((await h.call('admin', 'GET', `/v1/admin/suppressed-mail/${id}`)).status).toBe(404);

    expect((await h.call('admin', 'DELETE', `/v1/admin/suppressed-mail/${randomUUID()}`)).status).toBe(404);
    expect((await h.call('admin', 'GET', `/v1/admin/suppressed-mail/${randomUUID()}`)).status).toBe(404);
    for (const [method, path] of [
      ['DELETE', '/v1/admin/suppressed-mail/not-a-uuid'],
      ['GET', '/v1/admin/suppressed-mail/not-a-uuid'],
      ['POST', '/v1/admin/suppressed-mail/not-a-uuid/release'],
    ]) {
      const res = await h.call('admin', method, path);
      expect(res.status).toBe(400);
      expect(res.body.fields).toEqual([{ path: 'id', message: 'must be a UUID' }]);
    }
  });

  it('keeps the raw source and attachments from the upload collector', async () => {
    const { payload } = await suppressedMail();
    await file(payload);
    // An agent happened to upload the same bytes long ago, and no message references them.
    const old = new Date(Date.now() - 3 * 24 * 3600 * 1000);
    for (const { sha256, size } of [payload.email.suppressed.raw, payload.attachments[0]]) {
      await h.ds.query(
        `INSERT INTO blobs (sha256, size, content_type, uploaded_by, uploaded_at) VALUES ($1, $2, 'application/octet-stream', ARRAY[$3::uuid], $4)`,
        [sha256, size, h.ids.alice, old],
      );
      utimesSync(blobs.pathOf(sha256), old, old);
    }
    await h.app.get(BlobGcService).collect();
    for (const { sha256 } of [payload.email.suppressed.raw, payload.attachments[0]]) {
      expect(await blobs.exists(sha256)).toBe(true);
      expect(await h.ds.query(`SELECT referenced FROM blobs WHERE sha256 = $1`, [sha256])).toEqual([
        { referenced: true },
      ]);
    }
  });
});
