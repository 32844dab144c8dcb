import { JobName, QueueName, outboundJobId, ticketIdFromEmailMessageId } from '@oq/contracts';
import { ApiHarness, waitForJob } from './api-test-harness';

const THREADING_SECRET = 'test-threading-secret-0123456789abc';

describe('tickets and replies over HTTP', () => {
  const h = new ApiHarness();
  beforeAll(() => h.start(), 30_000);
  afterAll(() => h.stop());

  it('opens a ticket for a customer by hand, with the timeline, audit and contact', async () => {
    const t = await h.createTicket('alice', {
      requester: { kind: 'email', value: 'Ann@Example.COM', name: 'Ann' },
      tags: ['refund', 'refund'],
    });
    expect(t).toMatchObject({ status: 'new', channel: 'email', teamId: h.ids.teamA, tags: ['refund'], version: 1 });
    expect(t.inboxId).toBe(h.ids.inbox_email);
    expect(t.messages).toHaveLength(1);
    expect(t.messages[0]).toMatchObject({ direction: 'inbound', kind: 'message', authorContactId: t.requesterId });
    expect(t.participants).toEqual([expect.objectContaining({ role: 'requester', contactId: t.requesterId })]);
    expect(t.participants[0].identities[0]).toMatchObject({ kind: 'email', value: 'ann@example.com' });
    expect(t.audit).toEqual([expect.objectContaining({ action: 'created', actorAgentId: h.ids.alice })]);
    // Same customer again → same contact.
    const again = await h.createTicket('alice', { requester: { kind: 'email', value: 'ann@example.com' } });
    expect(again.requesterId).toBe(t.requesterId);
  });

  it('logs a phone call by hand as a call_log message on a voice ticket', async () => {
    const t = await h.createTicket('alice', {
      requester: { kind: 'phone', value: '+49 30 1234567' },
      channel: 'voice',
      subject: 'Hotline: account locked',
      message: undefined,
      callLog: { direction: 'inbound', disposition: 'answered', durationSec: 300, notes: 'Customer locked out' },
    });
    expect(t.channel).toBe('voice');
    expect(t.messages[0]).toMatchObject({ kind: 'call_log', text: 'Customer locked out' });
    expect(t.messages[0].metadata.call).toMatchObject({ disposition: 'answered', durationSec: 300 });
    expect(t.participants[0].identities[0].value).toBe('+49301234567');
  });

  it('rejects bad input with field errors and creates nothing', async () => {
    const before = await h.ds.query(`SELECT count(*)::int AS n FROM tickets`);
    const res = await h.call('alice', 'POST', '/v1/tickets', {
      requester: { kind: 'fax', value: '' },
      channel: 'pigeon',
    });
    expect(res.status).toBe(400);
    const paths = res.body.fields.map((f: { path: string }) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['requester.kind', 'requester.value', 'channel']));
    // The per-call identity of a withheld caller is voice-service's alone: an agent cannot name one.
    const anonymous = await h.call('alice', 'POST', '/v1/tickets', {
      requester: { kind: 'anonymous', value: 'some-inbox:CA123' },
      channel: 'voice',
    });
    expect(anonymous.status).toBe(400);
    expect(anonymous.body.fields.map((f: { path: string }) => f.path)).toContain('requester.kind');
    expect((await h.ds.query(`SELECT count(*)::int AS n FROM tickets`))[0].n).toBe(before[0].n);
    expect((await h.call('alice', 'GET', '/v1/tickets')).status).toBe(200);
    expect((await fetch(`${h.base}/v1/tickets`)).status).toBe(401);
  });

  it('updates with optimistic versions: 409 on a stale version, audit + events on success', async () => {
    const t = await h.createTicket();
    const ok = await h.call('alice', 'PATCH', `/v1/tickets/${t.id}`, {
      version: 1,
      priority: 'urgent',
      assigneeId: h.ids.carol,
    });
    expect(ok.status).toBe(200);
    // Assignment moves new → open.
    expect(ok.body).toMatchObject({ priority: 'urgent', status: 'open', assigneeId: h.ids.carol, version: 2 });
    expect(ok.body.audit.at(-1)).toMatchObject({
      action: 'updated',
      changes: { priority: ['normal', 'urgent'], status: ['new', 'open'], assignee_id: [null, h.ids.carol] },
    });
    const stale = await h.call('alice', 'PATCH', `/v1/tickets/${t.id}`, { version: 1, priority: 'low' });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ reason: 'stale_version', currentVersion: 2 });

    const expected = ['ticket.created', 'ticket.updated', 'ticket.assigned', 'ticket.status_changed'];
    expect(await h.outboxEvents(t.id, expected)).toEqual(expect.arrayContaining(expected));

    // Assignee must be able to see the ticket.
    const foreign = await h.call('alice', 'PATCH', `/v1/tickets/${t.id}`, { version: 2, assigneeId: h.ids.bob });
    expect(foreign.status).toBe(422);
    expect(foreign.body.message).toMatch(/not a member of team/);
  });

  it('applies the status rules: solved sets solved_at, closed only from solved, closed is immutable', async () => {
    const t = await h.createTicket();
    expect(
      (await h.call('alice', 'PATCH', `/v1/tickets/${t.id}`, { version: 1, status: 'closed' })).body,
    ).toMatchObject({
      reason: 'invalid_transition',
    });
    const solved = await h.call('alice', 'PATCH', `/v1/tickets/${t.id}`, { version: 1, status: 'solved' });
    expect(solved.body.status).toBe('solved');
    expect(solved.body.solvedAt).toBeTruthy();
    const back = await h.call('alice', 'PATCH', `/v1/tickets/${t.id}`, { version: 2, status: 'new' });
    expect(back.status).toBe(422);
    const closed = await h.call('alice', 'PATCH', `/v1/tickets/${t.id}`, { version: 2, status: 'closed' });
    expect(closed.body).toMatchObject({ status: 'closed', version: 3 });
    expect(closed.body.closedAt).toBeTruthy();
    const frozen = await h.call('alice', 'PATCH', `/v1/tickets/${t.id}`, { version: 3, priority: 'high' });
    expect(frozen.status).toBe(409);
    expect(frozen.body.reason).toBe('closed');
    const reply = await h.call('alice', 'POST', `/v1/tickets/${t.id}/messages`, { text: 'hello?' });
    expect(reply.status).toBe(409);
  });

  it('an email reply is queued with threading headers, CCs and the right job id on outbound.email', async () => {
    const t = await h.createTicket('alice', {
      requester: { kind: 'email', value: 'thread@example.com' },
      cc: [{ kind: 'email', value: 'partner@example.com' }],
      subject: 'Refund missing',
    });
    // The customer's first mail carried a Message-ID (as ingest stores it).
    await h.ds.query(`UPDATE messages SET email_message_id = '<first@customer.example>' WHERE ticket_id = $1`, [t.id]);
    const res = await h.call('alice', 'POST', `/v1/tickets/${t.id}/messages`, {
      text: 'We are on it',
      html: '<p>We are <script>x</script>on it</p>',
    });
    expect(res.status).toBe(201);
    const msg = res.body;
    expect(msg).toMatchObject({
      direction: 'outbound',
      deliveryStatus: 'queued',
      channel: 'email',
      inboxId: h.ids.inbox_email,
    });
    expect(msg.html).toBe('<p>We are on it</p>');
    expect(ticketIdFromEmailMessageId(msg.emailMessageId, THREADING_SECRET)).toBe(t.id);

    const job = await waitForJob(h, QueueName.OutboundEmail, outboundJobId(msg.id, 0));
    expect(job.name).toBe(JobName.OutboundMessage);
    expect(job.data).toMatchObject({
      messageId: msg.id,
      ticketId: t.id,
      ticketNumber: t.number,
      channel: 'email',
      to: { kind: 'email', value: 'thread@example.com' },
      cc: [{ kind: 'email', value: 'partner@example.com' }],
      subject: `Re: Refund missing [#${t.number}]`,
      email: {
        messageId: msg.emailMessageId,
        inReplyTo: '<first@customer.example>',
        references: ['<first@customer.example>'],
      },
    });

    const after = (await h.call('alice', 'GET', `/v1/tickets/${t.id}`)).body;
    expect(after).toMatchObject({ status: 'open', agentReplyCount: 1 });
    expect(after.firstReplyAt).toBeTruthy();
    expect(after.messages.map((m: { direction: string }) => m.direction)).toEqual(['inbound', 'outbound']);

    // The second reply threads on both ids, answering the latest.
    const second = (await h.call('alice', 'POST', `/v1/tickets/${t.id}/messages`, { text: 'Done', status: 'solved' }))
      .body;
    const job2 = await waitForJob(h, QueueName.OutboundEmail, outboundJobId(second.id, 0));
    expect(job2.data.email).toMatchObject({
      inReplyTo: msg.emailMessageId,
      references: ['<first@customer.example>', msg.emailMessageId],
    });
    const solved = (await h.call('alice', 'GET', `/v1/tickets/${t.id}`)).body;
    expect(solved).toMatchObject({ status: 'solved', agentReplyCount: 2 });
  });

  it('replies on another channel the customer uses, binds the conversation; voice has no outbound', async () => {
    const t = await h.createTicket('alice', {
      requester: { kind: 'phone', value: '+4915112345678' },
      channel: 'voice',
      message: undefined,
      callLog: { disposition: 'missed' },
    });
    const voice = await h.call('alice', 'POST', `/v1/tickets/${t.id}/messages`, { text: 'Calling you back' });
    expect(voice.status).toBe(422);
    expect(voice.body.reason).toBe('voice_no_outbound');
    const noWa = await h.call('alice', 'POST', `/v1/tickets/${t.id}/messages`, { text: 'Hi', channel: 'whatsapp' });
    expect(noWa.status).toBe(422);
    expect(noWa.body.reason).toBe('no_identity_on_channel');

    // The customer has written to alice's team on WhatsApp before (the wa_id links to the phone, so one
    // contact): that identity is on a ticket she can see, so she may answer the call on it.
    await h.ingest({
      inboxId: h.ids.inbox_whatsapp,
      channel: 'whatsapp',
      externalId: `wamid.callback-${t.id}`,
      sender: { kind: 'whatsapp', value: '4915112345678', linked: [{ kind: 'phone', value: '+4915112345678' }] },
      text: 'Did you call me?',
    });
    const [identity] = await h.ds.query(
      `SELECT id FROM contact_identities WHERE contact_id = $1 AND kind = 'whatsapp' AND value = '4915112345678'`,
      [t.requesterId],
    );
    const wa = await h.call('alice', 'POST', `/v1/tickets/${t.id}/messages`, {
      text: 'Hi, you called us?',
      channel: 'whatsapp',
    });
    expect(wa.status).toBe(201);
    expect(wa.body).toMatchObject({
      channel: 'whatsapp',
      inboxId: h.ids.inbox_whatsapp,
      toIdentityId: identity.id,
      emailMessageId: null,
    });
    const job = await waitForJob(h, QueueName.OutboundSocial, outboundJobId(wa.body.id, 0));
    expect(job.data).toMatchObject({ channel: 'whatsapp', to: { kind: 'whatsapp', value: '4915112345678' } });
    expect(job.data.email).toBeUndefined();
    const [conv] = await h.ds.query(`SELECT ticket_id FROM conversations WHERE inbox_id = $1 AND identity_id = $2`, [
      h.ids.inbox_whatsapp,
      identity.id,
    ]);
    expect(conv.ticket_id).toBe(t.id);
  });

  it('stores internal notes without any outbound job', async () => {
    const t = await h.createTicket();
    const note = await h.call('alice', 'POST', `/v1/tickets/${t.id}/messages`, {
      kind: 'note',
      text: 'Checked the ledger for the card ending 1111',
    });
    expect(note.status).toBe(201);
    // A note with a full card number is refused (card-number-replies.api.spec.ts); this one is stored as typed.
    expect(note.body.text).toBe('Checked the ledger for the card ending 1111');
    expect(note.body).toMatchObject({ direction: 'internal', kind: 'note', deliveryStatus: null });
    const outbound = await h.ds.query(`SELECT 1 FROM outbox WHERE payload->>'messageId' = $1`, [note.body.id]);
    expect(outbound).toHaveLength(0);
    const after = (await h.call('alice', 'GET', `/v1/tickets/${t.id}`)).body;
    expect(after).toMatchObject({ status: 'new', agentReplyCount: 0 });
  });

  it('Idempotency-Key: same body replays the same response, another body is 422', async () => {
    const body = {
      requester: { kind: 'email', value: 'idem@example.com' },
      channel: 'email',
      subject: 'Double click',
      message: { text: 'hello' },
    };
    const first = await h.call('alice', 'POST', '/v1/tickets', body, { 'idempotency-key': 'k-1' });
    const second = await h.call('alice', 'POST', '/v1/tickets', body, { 'idempotency-key': 'k-1' });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body.id).toBe(first.body.id);
    const n = await h.ds.query(`SELECT count(*)::int AS n FROM tickets WHERE subject = 'Double click'`);
    expect(n[0].n).toBe(1);
    const other = await h.call(
      'alice',
      'POST',
      '/v1/tickets',
      { ...body, subject: 'Other' },
      { 'idempotency-key': 'k-1' },
    );
    expect(other.status).toBe(422);
    expect(other.body.reason).toBe('idempotency_key_reused');
    // Keys are per agent: Carol's k-1 is her own.
    const carol = await h.call(
      'carol',
      'POST',
      '/v1/tickets',
      { ...body, subject: 'Other' },
      { 'idempotency-key': 'k-1' },
    );
    expect(carol.status).toBe(201);
    // A failed request releases its key.
    const bad = await h.call(
      'alice',
      'POST',
      `/v1/tickets/${first.body.id}/messages`,
      { text: 'x', channel: 'voice' },
      { 'idempotency-key': 'k-2' },
    );
    expect(bad.status).toBe(422);
    const good = await h.call(
      'alice',
      'POST',
      `/v1/tickets/${first.body.id}/messages`,
      { text: 'x', channel: 'voice' },
      { 'idempotency-key': 'k-2' },
    );
    expect(good.status).toBe(422);
    expect(good.headers.get('idempotent-replayed')).toBeNull();
  });

  it('merges a ticket into another: messages move, the source closes with merged_into_id', async () => {
    const a = await h.createTicket('alice', { requester: { kind: 'email', value: 'dup@example.com' }, tags: ['a'] });
    const b = await h.createTicket('alice', { requester: { kind: 'email', value: 'dup@example.com' }, tags: ['b'] });
    const res = await h.call('alice', 'POST', `/v1/tickets/${a.id}/merge`, { targetTicketId: b.id });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(b.id);
    expect(res.body.tags).toEqual(['a', 'b']);
    expect(res.body.messages.filter((m: { kind: string }) => m.kind === 'message')).toHaveLength(2);
    expect(res.body.messages.at(-1)).toMatchObject({
      kind: 'system',
      direction: 'internal',
      metadata: { movedMessages: 1 },
    });
    expect(res.body.mergedFrom).toEqual([expect.objectContaining({ id: a.id, status: 'closed' })]);
    const source = (await h.call('alice', 'GET', `/v1/tickets/${a.id}`)).body;
    expect(source).toMatchObject({ status: 'closed', mergedIntoId: b.id, messages: [] });
    expect(source.audit.at(-1)).toMatchObject({ action: 'merged_into' });
    const again = await h.call('alice', 'POST', `/v1/tickets/${a.id}/merge`, { targetTicketId: b.id });
    expect(again.status).toBe(409);
    // Into a ticket the agent cannot see: 404, nothing moves.
    const bobs = await h.createTicket('bob', { teamId: h.ids.teamB });
    const hidden = await h.call('alice', 'POST', `/v1/tickets/${b.id}/merge`, { targetTicketId: bobs.id });
    expect(hidden.status).toBe(404);
  });

  it('cancels the merged ticket’s running SLA clocks through their trails, with the reason', async () => {
    // Matches only tickets tagged sla-merge, so the other tests here run without clocks.
    const policy = await h.call('admin', 'POST', '/v1/admin/sla/policies', {
      name: 'merge trail',
      conditions: { tagsAny: ['sla-merge'] },
      targets: { first_reply: { normal: { seconds: 3600 } }, resolution: { normal: { seconds: 86400 } } },
    });
    expect(policy.status).toBe(201);
    const requester = { kind: 'email', value: 'sla-merge@example.com' };
    const a = await h.createTicket('alice', { requester, tags: ['sla-merge'] });
    const b = await h.createTicket('alice', { requester, tags: ['sla-merge'] });
    const running = (await h.call('alice', 'GET', `/v1/tickets/${a.id}/sla`)).body.clocks;
    expect(running.map((c: { metric: string; state: string }) => [c.metric, c.state]).sort()).toEqual([
      ['first_reply', 'active'],
      ['resolution', 'active'],
    ]);

    expect((await h.call('alice', 'POST', `/v1/tickets/${a.id}/merge`, { targetTicketId: b.id })).status).toBe(200);
    const { clocks } = (await h.call('alice', 'GET', `/v1/tickets/${a.id}/sla`)).body;
    expect(clocks).toHaveLength(2);
    for (const clock of clocks) {
      expect(clock.state).toBe('cancelled');
      expect(clock.events.map((e: { kind: string }) => e.kind)).toEqual(['activate', 'cancel']);
      expect(clock.events[1]).toMatchObject({
        data: { reason: `merged into #${b.number}` },
        calendarSeconds: expect.any(Number),
      });
    }
    // The target keeps its own clocks running; the closed source is out of the due-time ordering.
    const target = (await h.call('alice', 'GET', `/v1/tickets/${b.id}/sla`)).body.clocks;
    expect(target.every((c: { state: string }) => c.state === 'active')).toBe(true);
    expect((await h.call('alice', 'GET', `/v1/tickets/${a.id}`)).body).toMatchObject({ nextDueAt: null });
    expect((await h.call('admin', 'DELETE', `/v1/admin/sla/policies/${policy.body.id}`)).status).toBe(200);
  });

  it('documents every route in the OpenAPI document at /docs', async () => {
    const doc = (await (await fetch(`${h.base}/docs-json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    for (const [path, method] of [
      ['/v1/tickets', 'get'],
      ['/v1/tickets', 'post'],
      ['/v1/tickets/{id}', 'patch'],
      ['/v1/tickets/{id}/merge', 'post'],
      ['/v1/tickets/{id}/messages', 'post'],
      ['/v1/queue', 'get'],
      ['/v1/queue/next', 'post'],
      ['/v1/contacts', 'get'],
      ['/v1/contacts/{id}/merge', 'post'],
      ['/v1/attachments', 'post'],
      ['/v1/attachments/{sha256}', 'get'],
      ['/v1/admin/dead-letters', 'get'],
    ])
      expect([path, method, Boolean(doc.paths[path]?.[method])]).toEqual([path, method, true]);
    const create = doc.paths['/v1/tickets'].post as {
      requestBody: { content: Record<string, { schema: { properties: object } }> };
    };
    expect(Object.keys(create.requestBody.content['application/json'].schema.properties)).toContain('requester');
  });

  it('lists tickets with filters and cursor pagination', async () => {
    const tag = `page${Date.now()}`;
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await h.createTicket('alice', { tags: [tag] }));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const qs: string = `/v1/tickets?tag=${tag}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await h.call('alice', 'GET', qs);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((t: { id: string }) => t.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(made.map((t) => t.id).reverse());
    expect((await h.call('bob', 'GET', `/v1/tickets?tag=${tag}`)).body.items).toEqual([]);
    const byNumber = await h.call('alice', 'GET', `/v1/tickets?q=%23${made[0].number}`);
    expect(byNumber.body.items.map((t: { id: string }) => t.id)).toEqual([made[0].id]);
    expect((await h.call('alice', 'GET', `/v1/tickets?cursor=garbage`)).status).toBe(400);
  });
});
