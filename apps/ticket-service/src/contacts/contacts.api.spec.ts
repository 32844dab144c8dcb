import { ApiHarness } from '../tickets/api-test-harness';

describe('contacts, attachments, dead letters and the permissions matrix over HTTP', () => {
  const h = new ApiHarness();
  beforeAll(() => h.start({ MAX_ATTACHMENT_BYTES: '1024' }), 30_000);
  afterAll(() => h.stop());

  async function upload(who: 'alice' | 'bob', bytes: Buffer, filename: string, type: string) {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(bytes)], { type }), filename);
    const res = await fetch(`${h.base}/v1/attachments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.tokens[who]}` },
      body: form,
    });
    return { status: res.status, body: await res.json() };
  }

  it('searches contacts by identity prefix or name, only among visible ones', async () => {
    const t = await h.createTicket('alice', {
      requester: { kind: 'email', value: 'maria.lopez@wallet-user.example', name: 'Maria Lopez' },
    });
    const [phone] = await h.ds.query(
      `INSERT INTO contact_identities (contact_id, kind, value) VALUES ($1, 'phone', '+34600111222') RETURNING id`,
      [t.requesterId],
    );
    await h.createTicket('bob', {
      teamId: h.ids.teamB,
      requester: { kind: 'email', value: 'maria.secret@wallet-user.example', name: 'Maria Secret' },
    });
    const ids = async (who: 'alice' | 'bob' | 'admin', q: string) =>
      (await h.call(who, 'GET', `/v1/contacts?q=${encodeURIComponent(q)}`)).body.items.map((c: { id: string }) => c.id);
    expect(await ids('alice', 'maria.l')).toEqual([t.requesterId]);
    expect(await ids('alice', 'MARIA')).toEqual([t.requesterId]);
    // An identity on none of her tickets is not hers to find by (admins find everything)…
    expect(await ids('alice', '+34600')).toEqual([]);
    expect(await ids('admin', '+34600')).toEqual([t.requesterId]);
    // …until it is on one: the number's voice conversation bound to her ticket.
    await h.ds.query(`INSERT INTO conversations (inbox_id, identity_id, ticket_id) VALUES ($1, $2, $3)`, [
      h.ids.inbox_voice,
      phone.id,
      t.id,
    ]);
    expect(await ids('alice', '+34600')).toEqual([t.requesterId]);
    expect(await ids('alice', 'maria.secret')).toEqual([]);
    expect(await ids('admin', 'maria')).toHaveLength(2);
    expect((await h.call('alice', 'GET', '/v1/contacts?q=m')).status).toBe(400);

    const profile = await h.call('alice', 'GET', `/v1/contacts/${t.requesterId}`);
    expect(profile.status).toBe(200);
    expect(profile.body.identities.map((i: { kind: string }) => i.kind)).toEqual(['email', 'phone']);
    expect(profile.body.tickets.map((x: { id: string }) => x.id)).toEqual([t.id]);
  });

  it('merges contacts by hand: identities and tickets move; suggestions listed', async () => {
    const a = await h.createTicket('alice', { requester: { kind: 'email', value: 'dup1@example.com', name: 'Dup' } });
    const b = await h.createTicket('alice', {
      requester: { kind: 'phone', value: '+15551234567' },
      channel: 'voice',
      message: undefined,
      callLog: { disposition: 'answered' },
    });
    await h.ds.query(
      `INSERT INTO merge_suggestions (contact_id, other_contact_id, reason) VALUES ($1, $2, 'same caller')`,
      [b.requesterId, a.requesterId],
    );
    const suggestions = await h.call('alice', 'GET', `/v1/contacts/${a.requesterId}/merge-suggestions`);
    expect(suggestions.body.items).toEqual([
      expect.objectContaining({ reason: 'same caller', contact: expect.objectContaining({ id: b.requesterId }) }),
    ]);
    const merged = await h.call('alice', 'POST', `/v1/contacts/${b.requesterId}/merge`, {
      intoContactId: a.requesterId,
    });
    expect(merged.status).toBe(200);
    expect(merged.body.identities.map((i: { kind: string }) => i.kind).sort()).toEqual(['email', 'phone']);
    expect(merged.body.tickets.map((x: { id: string }) => x.id).sort()).toEqual([a.id, b.id].sort());
    expect((await h.call('alice', 'GET', `/v1/contacts/${a.requesterId}/merge-suggestions`)).body.items).toEqual([]);
    const again = await h.call('alice', 'POST', `/v1/contacts/${b.requesterId}/merge`, {
      intoContactId: a.requesterId,
    });
    expect(again.status).toBe(404); // the source has no visible tickets any more
    const self = await h.call('alice', 'POST', `/v1/contacts/${a.requesterId}/merge`, { intoContactId: a.requesterId });
    expect(self.status).toBe(422);
  });

  it('uploads attachments, refuses oversized ones, serves them only through a visible ticket', async () => {
    const pdf = Buffer.from('%PDF-1.4 statement of account');
    const up = await upload('alice', pdf, 'statement.pdf', 'application/pdf');
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({ size: pdf.length, contentType: 'application/pdf', filename: 'statement.pdf' });
    expect((await upload('alice', Buffer.alloc(2048, 1), 'big.bin', 'application/octet-stream')).status).toBe(413);

    const t = await h.createTicket();
    const reply = await h.call('alice', 'POST', `/v1/tickets/${t.id}/messages`, {
      text: 'Your statement',
      attachments: [{ sha256: up.body.sha256, filename: 'Kontoauszug März.pdf' }],
    });
    expect(reply.status).toBe(201);
    expect(reply.body.attachments).toEqual([
      { sha256: up.body.sha256, size: pdf.length, filename: 'Kontoauszug März.pdf', contentType: 'application/pdf' },
    ]);
    const unknown = await h.call('alice', 'POST', `/v1/tickets/${t.id}/messages`, {
      text: 'x',
      attachments: [{ sha256: 'f'.repeat(64) }],
    });
    expect(unknown.status).toBe(404); // like a hash this agent may not attach: existence does not leak

    const get = (who: 'alice' | 'bob' | 'admin', ticketId: string) =>
      fetch(`${h.base}/v1/attachments/${up.body.sha256}?ticketId=${ticketId}`, {
        headers: { authorization: `Bearer ${h.tokens[who]}` },
      });
    const ok = await get('alice', t.id);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/pdf');
    expect(ok.headers.get('content-disposition')).toMatch(
      /^attachment; filename="Kontoauszug M_rz.pdf"; filename\*=UTF-8''Kontoauszug%20M%C3%A4rz.pdf$/,
    );
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await ok.arrayBuffer())).toEqual(pdf);
    expect((await get('admin', t.id)).status).toBe(200);
    expect((await get('bob', t.id)).status).toBe(404);
    // Referenced by no message of this (visible) ticket.
    const other = await h.createTicket();
    expect((await get('alice', other.id)).status).toBe(404);
  });

  it('permissions matrix: every path on another team’s ticket is 404; admin-only paths are 403', async () => {
    const t = await h.createTicket('alice', { requester: { kind: 'email', value: 'matrix@example.com' } });
    const mine = await h.createTicket('bob', { teamId: h.ids.teamB });
    const up = await upload('alice', Buffer.from('secret'), 's.txt', 'text/plain');
    await h.call('alice', 'POST', `/v1/tickets/${t.id}/messages`, {
      text: 'f',
      attachments: [{ sha256: up.body.sha256 }],
    });
    const notFound: [string, string, unknown?][] = [
      ['GET', `/v1/tickets/${t.id}`],
      ['PATCH', `/v1/tickets/${t.id}`, { version: 1, priority: 'high' }],
      ['POST', `/v1/tickets/${t.id}/merge`, { targetTicketId: mine.id }],
      ['POST', `/v1/tickets/${mine.id}/merge`, { targetTicketId: t.id }],
      ['POST', `/v1/tickets/${t.id}/messages`, { text: 'hi' }],
      ['POST', `/v1/tickets/${t.id}/messages`, { kind: 'note', text: 'hi' }],
      ['GET', `/v1/attachments/${up.body.sha256}?ticketId=${t.id}`],
      ['GET', `/v1/contacts/${t.requesterId}`],
      ['GET', `/v1/contacts/${t.requesterId}/merge-suggestions`],
      ['POST', `/v1/contacts/${t.requesterId}/merge`, { intoContactId: mine.requesterId }],
      ['POST', `/v1/contacts/${mine.requesterId}/merge`, { intoContactId: t.requesterId }],
      ['GET', `/v1/tickets/not-a-uuid`],
    ];
    for (const [method, path, body] of notFound) {
      const res = await h.call('bob', method, path, body);
      expect([method, path, res.status]).toEqual([method, path, 404]);
    }
    // Lists and the queue simply do not contain it.
    for (const path of ['/v1/tickets?limit=100', '/v1/queue?limit=100'])
      expect((await h.call('bob', 'GET', path)).body.items.map((x: { id: string }) => x.id)).not.toContain(t.id);
    expect((await h.call('bob', 'GET', '/v1/contacts?q=matrix')).body.items).toEqual([]);
    // Nothing changed beyond Alice's own reply (new → open, version 2).
    const still = await h.call('alice', 'GET', `/v1/tickets/${t.id}`);
    expect(still.body).toMatchObject({ version: 2, priority: 'normal', status: 'open', agentReplyCount: 1 });

    const [dl] = await h.ds.query(
      `INSERT INTO dead_letters (queue, job_name, payload, reason) VALUES ('inbound', 'inbound-message', '{"v":1}', 'inboxId: Required') RETURNING id`,
    );
    const forbidden: [string, string][] = [
      ['GET', '/v1/admin/dead-letters'],
      ['POST', `/v1/admin/dead-letters/${dl.id}/replay`],
    ];
    for (const [method, path] of forbidden) {
      const res = await h.call('alice', method, path);
      expect([method, path, res.status]).toEqual([method, path, 403]);
    }
    for (const [method, path] of [...notFound.map(([m, p]) => [m, p]), ...forbidden])
      expect((await fetch(`${h.base}${path}`, { method })).status).toBe(401);
  });

  it('admins list and replay dead letters', async () => {
    const list = await h.call('admin', 'GET', '/v1/admin/dead-letters');
    expect(list.status).toBe(200);
    const letter = list.body.items.find((d: { reason: string }) => d.reason === 'inboxId: Required');
    expect(letter).toBeTruthy();
    const replay = await h.call('admin', 'POST', `/v1/admin/dead-letters/${letter.id}/replay`);
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ id: letter.id, queue: 'inbound' });
    expect(
      (await h.call('admin', 'GET', '/v1/admin/dead-letters')).body.items.map((d: { id: string }) => d.id),
    ).not.toContain(letter.id);
    expect(
      (await h.call('admin', 'POST', `/v1/admin/dead-letters/00000000-0000-0000-0000-000000000000/replay`)).status,
    ).toBe(404);
  });
});
