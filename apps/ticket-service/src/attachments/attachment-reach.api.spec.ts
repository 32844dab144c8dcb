import { randomBytes, randomUUID } from 'node:crypto';
import { BlobStore } from '@oq/platform';
import { ApiHarness } from '../tickets/api-test-harness';

/**
 * Knowing a hash is not enough to attach it: a reply or note may reference a blob its author
 * uploaded, or one a message of a ticket they can see already references. Anything else is
 * the 404 of an unknown hash, so the answer does not tell that the bytes exist.
 */
describe('who may attach a blob', () => {
  const h = new ApiHarness();
  beforeAll(() => h.start(), 30_000);
  afterAll(() => h.stop());

  type Who = 'alice' | 'bob' | 'admin';
  async function upload(who: Who, bytes = randomBytes(64)): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(bytes)], { type: 'application/pdf' }), 'contract.pdf');
    const res = await fetch(`${h.base}/v1/attachments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.tokens[who]}` },
      body: form,
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { sha256: string }).sha256;
  }
  const attach = (who: Who, ticketId: string, sha256: string, kind: 'note' | 'reply' = 'note') =>
    h.call(who, 'POST', `/v1/tickets/${ticketId}/messages`, { kind, text: 'attached', attachments: [{ sha256 }] });
  const download = (who: Who, sha256: string, ticketId: string) =>
    fetch(`${h.base}/v1/attachments/${sha256}?ticketId=${ticketId}`, {
      headers: { authorization: `Bearer ${h.tokens[who]}` },
    });
  const messages = async (ticketId: string) =>
    (await h.ds.query(`SELECT count(*)::int AS n FROM messages WHERE ticket_id = $1`, [ticketId]))[0].n;
  const notFound = { statusCode: 404, message: 'attachments.0: attachment not found', error: 'Not Found' };

  let bobsTicket: string;
  let alicesTicket: string;
  let bobsFile: string;
  beforeAll(async () => {
    bobsTicket = (await h.createTicket('bob', { teamId: h.ids.teamB })).id;
    alicesTicket = (await h.createTicket('alice')).id;
    bobsFile = await upload('bob');
  });

  it('lets the uploader attach; another team’s agent who knows the hash gets the 404 of an unknown hash', async () => {
    expect((await attach('bob', bobsTicket, bobsFile)).status).toBe(201);

    const before = await messages(alicesTicket);
    const unknown = await attach('alice', alicesTicket, 'f'.repeat(64));
    expect(unknown).toMatchObject({ status: 404, body: notFound });
    for (const kind of ['note', 'reply'] as const) {
      const res = await attach('alice', alicesTicket, bobsFile, kind);
      expect([kind, res.status, res.body]).toEqual([kind, 404, unknown.body]);
    }
    expect(await messages(alicesTicket)).toBe(before);
    expect((await h.call('alice', 'GET', `/v1/tickets/${alicesTicket}`)).body).toMatchObject({
      version: 1,
      status: 'new',
      agentReplyCount: 0,
    });
    // It never got attached, so her own ticket does not serve it either.
    expect((await download('alice', bobsFile, alicesTicket)).status).toBe(404);
    expect((await download('alice', bobsFile, bobsTicket)).status).toBe(404);
  });

  it('records every uploader of the same bytes, once each', async () => {
    const bytes = randomBytes(64);
    const sha = await upload('bob', bytes);
    expect(await upload('alice', bytes)).toBe(sha);
    expect(await upload('bob', bytes)).toBe(sha);
    const [row] = await h.ds.query(`SELECT uploaded_by FROM blobs WHERE sha256 = $1`, [sha]);
    expect(row.uploaded_by).toEqual([h.ids.bob, h.ids.alice]);
    expect((await attach('alice', alicesTicket, sha)).status).toBe(201);
    expect((await attach('bob', bobsTicket, sha)).status).toBe(201);
  });

  it('lets an agent attach a blob once it is on a ticket they can see, through a shared team', async () => {
    const file = await upload('bob');
    expect((await attach('bob', bobsTicket, file)).status).toBe(201);
    expect((await attach('alice', alicesTicket, file)).status).toBe(404);

    const teams = (teamIds: string[]) => h.call('admin', 'PATCH', `/v1/agents/${h.ids.alice}`, { teamIds });
    expect((await teams([h.ids.teamA, h.ids.teamB])).status).toBe(200);
    try {
      expect((await attach('alice', alicesTicket, file)).status).toBe(201);
    } finally {
      expect((await teams([h.ids.teamA])).status).toBe(200);
    }
    // Out of team B again: her own ticket shows it now, so she may attach and download it there.
    expect((await attach('alice', alicesTicket, file)).status).toBe(201);
    expect((await download('alice', file, alicesTicket)).status).toBe(200);
    expect((await download('alice', file, bobsTicket)).status).toBe(404);
  });

  it('a file a customer sent on a team-B ticket: Bob may forward it, Alice gets 404', async () => {
    // As a channel service ingests it: bytes in the blob store, no blobs row, the ref on an inbound message.
    const [inbox] = await h.ds.query(
      `INSERT INTO inboxes (name, channel, address, default_team_id) VALUES ('security mail', 'email', 'security@wallet.example', $1) RETURNING id`,
      [h.ids.teamB],
    );
    const stored = await h.app.get(BlobStore).put(randomBytes(80));
    const ref = { sha256: stored.sha256, size: stored.size, filename: 'passport.jpg', contentType: 'image/jpeg' };
    const ticketId = await h.ingest({
      inboxId: inbox.id,
      channel: 'email',
      externalId: `<${randomUUID()}@customer.example>`,
      sender: { kind: 'email', value: 'victim@customer.example' },
      subject: 'My passport',
      text: 'attached',
      attachments: [ref],
    });
    expect((await h.call('bob', 'GET', `/v1/tickets/${ticketId}`)).body.teamId).toBe(h.ids.teamB);
    expect(await h.ds.query(`SELECT 1 FROM blobs WHERE sha256 = $1`, [ref.sha256])).toEqual([]);

    expect(await attach('alice', alicesTicket, ref.sha256)).toMatchObject({ status: 404, body: notFound });
    const forwarded = await attach('bob', bobsTicket, ref.sha256);
    expect(forwarded.status).toBe(201);
    expect(forwarded.body.attachments).toEqual([{ ...ref, filename: `attachment-${ref.sha256.slice(0, 8)}` }]);
    expect((await download('bob', ref.sha256, bobsTicket)).status).toBe(200);
    expect((await download('alice', ref.sha256, alicesTicket)).status).toBe(404);
  });

  it('admins: any blob on any ticket, but not another agent’s upload that is on no ticket', async () => {
    const adminsTicket = (await h.createTicket('admin', { teamId: h.ids.teamA })).id;
    expect((await attach('admin', adminsTicket, bobsFile)).status).toBe(201);
    const draft = await upload('bob');
    expect(await attach('admin', adminsTicket, draft)).toMatchObject({ status: 404, body: notFound });
    expect((await attach('admin', adminsTicket, await upload('admin'))).status).toBe(201);
  });
});
