import { createDataSource } from '@oq/database';
import { createTestDatabase, TestDatabase } from '@oq/database/testing/test-env';
import { DataSource } from 'typeorm';
import { OutboxService } from '../outbox/outbox.service';
import { ContactMergeError, ContactMergeService } from './contact-merge.service';
import { ContactResolverService, normalizeIdentity } from './contact-resolver.service';

describe('contact resolution and merge (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const merges = new ContactMergeService(new OutboxService());
  const resolver = new ContactResolverService(merges);
  let teamId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 4 });
    await ds.initialize();
    [{ id: teamId }] = await ds.query(`INSERT INTO teams (name) VALUES ('Support') RETURNING id`);
  });
  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });

  async function ticketFor(contactId: string): Promise<string> {
    const [t] = await ds.query(
      `INSERT INTO tickets (subject, team_id, requester_id, channel) VALUES ('x', $1, $2, 'email') RETURNING id`,
      [teamId, contactId],
    );
    await ds.query(`INSERT INTO ticket_participants VALUES ($1, $2, 'requester')`, [t.id, contactId]);
    await ds.query(
      `INSERT INTO messages (ticket_id, direction, author_contact_id, text) VALUES ($1, 'inbound', $2, 'hi')`,
      [t.id, contactId],
    );
    return t.id;
  }

  it('normalises emails and phone numbers', () => {
    expect(normalizeIdentity({ kind: 'email', value: ' Ann@Example.COM ' }).value).toBe('ann@example.com');
    expect(normalizeIdentity({ kind: 'phone', value: '+49 30 1234 5678' }).value).toBe('+493012345678');
    expect(normalizeIdentity({ kind: 'phone', value: '0049 30 12345678' }).value).toBe('+493012345678');
  });

  it('finds or creates one contact per identity, also when called concurrently', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        ds.transaction((m) => resolver.findOrCreate(m, { kind: 'email', value: 'race@example.com' }, { name: 'R' })),
      ),
    );
    expect(new Set(results.map((r) => r.contactId)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM contacts WHERE name = 'R'`);
    expect(n).toBe(1);
  });

  it('links a WhatsApp sender to its phone identity and auto-merges a phone-only contact (verified kind)', async () => {
    const caller = await ds.transaction((m) => resolver.findOrCreate(m, { kind: 'phone', value: '+4915112345678' }));
    const callerTicket = await ticketFor(caller.contactId);
    const wa = await ds.transaction((m) =>
      resolver.resolveSender(m, {
        kind: 'whatsapp',
        value: '4915112345678',
        displayName: 'Jana',
        linked: [{ kind: 'phone', value: '+49 151 12345678' }],
      }),
    );
    // New wa_id joins the contact that already owns the phone number.
    expect(wa.contactId).toBe(caller.contactId);
    const [identity] = await ds.query(
      `SELECT i.linked_identity_id, p.value FROM contact_identities i JOIN contact_identities p ON p.id = i.linked_identity_id
       WHERE i.kind = 'whatsapp' AND i.value = '4915112345678'`,
    );
    expect(identity.value).toBe('+4915112345678');

    // Later the phone number is re-assigned to another contact by an agent; WhatsApp vouches again → automatic merge.
    const other = await ds.transaction((m) => resolver.findOrCreate(m, { kind: 'email', value: 'x@example.com' }));
    await ds.query(`UPDATE contact_identities SET contact_id = $1 WHERE kind = 'phone' AND value = '+4915112345678'`, [
      other.contactId,
    ]);
    const again = await ds.transaction((m) =>
      resolver.resolveSender(m, {
        kind: 'whatsapp',
        value: '4915112345678',
        linked: [{ kind: 'phone', value: '+4915112345678' }],
      }),
    );
    expect(again.mergedContactIds).toEqual([other.contactId]);
    const [merged] = await ds.query(`SELECT merged_into_id FROM contacts WHERE id = $1`, [other.contactId]);
    expect(merged.merged_into_id).toBe(caller.contactId);
    const [t] = await ds.query(`SELECT requester_id FROM tickets WHERE id = $1`, [callerTicket]);
    expect(t.requester_id).toBe(caller.contactId);
  });

  it('only suggests a merge when the linking sender is spoofable', async () => {
    const known = await ds.transaction((m) => resolver.findOrCreate(m, { kind: 'phone', value: '+14155550100' }));
    const tg = await ds.transaction((m) =>
      resolver.findOrCreate(m, { kind: 'telegram', value: '777' }, { name: 'TG' }),
    );
    const res = await ds.transaction((m) =>
      resolver.resolveSender(m, { kind: 'telegram', value: '777', linked: [{ kind: 'phone', value: '+14155550100' }] }),
    );
    expect(res.contactId).toBe(tg.contactId);
    expect(res.mergedContactIds).toEqual([]);
    expect(res.suggested).toEqual([known.contactId]);
    const rows = await ds.query(
      `SELECT status FROM merge_suggestions WHERE contact_id = $1 AND other_contact_id = $2`,
      [tg.contactId, known.contactId],
    );
    expect(rows).toEqual([{ status: 'open' }]);
  });

  it('merges identities, tickets, participations, messages and resolves suggestions', async () => {
    const a = await ds.transaction((m) => resolver.findOrCreate(m, { kind: 'email', value: 'a@m.com' }, { name: 'A' }));
    const b = await ds.transaction((m) => resolver.findOrCreate(m, { kind: 'phone', value: '+442071838750' }));
    const ta = await ticketFor(a.contactId);
    const tb = await ticketFor(b.contactId);
    // a is CC on b's ticket too: after the merge the target keeps one participant row with the requester role.
    await ds.query(`INSERT INTO ticket_participants VALUES ($1, $2, 'cc')`, [tb, a.contactId]);
    await ds.transaction((m) => merges.suggest(m, a.contactId, b.contactId, 'same name'));

    const result = await ds.transaction((m) => merges.merge(m, a.contactId, b.contactId, { type: 'system' }));
    expect(result.movedIdentities).toBe(1);
    expect(result.movedTickets).toEqual([ta]);

    const identities = await ds.query(`SELECT kind FROM contact_identities WHERE contact_id = $1 ORDER BY kind`, [
      b.contactId,
    ]);
    expect(identities.map((i: { kind: string }) => i.kind)).toEqual(['email', 'phone']);
    const tickets = await ds.query(`SELECT id FROM tickets WHERE requester_id = $1 ORDER BY id`, [b.contactId]);
    expect(tickets.map((t: { id: string }) => t.id).sort()).toEqual([ta, tb].sort());
    const parts = await ds.query(
      `SELECT ticket_id, contact_id, role FROM ticket_participants WHERE ticket_id = ANY($1::uuid[]) ORDER BY ticket_id`,
      [[ta, tb]],
    );
    expect(parts).toHaveLength(2);
    expect(
      parts.every((p: { contact_id: string; role: string }) => p.contact_id === b.contactId && p.role === 'requester'),
    ).toBe(true);
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM messages WHERE author_contact_id = $1`, [
      a.contactId,
    ]);
    expect(n).toBe(0);
    const [src] = await ds.query(`SELECT merged_into_id FROM contacts WHERE id = $1`, [a.contactId]);
    expect(src.merged_into_id).toBe(b.contactId);
    const [tgt] = await ds.query(`SELECT name FROM contacts WHERE id = $1`, [b.contactId]);
    expect(tgt.name).toBe('A');
    const [sugg] = await ds.query(`SELECT status FROM merge_suggestions WHERE contact_id = $1`, [a.contactId]);
    expect(sugg.status).toBe('merged');
    const audit = await ds.query(`SELECT action FROM ticket_audit WHERE ticket_id = $1`, [ta]);
    expect(audit).toEqual([{ action: 'requester_merged' }]);
    const outbox = await ds.query(`SELECT payload->>'type' AS type, payload->>'ticketId' AS id FROM outbox`);
    expect(outbox).toContainEqual({ type: 'ticket.updated', id: ta });

    await expect(ds.transaction((m) => merges.merge(m, a.contactId, b.contactId, { type: 'system' }))).rejects.toThrow(
      ContactMergeError,
    );
    await expect(ds.transaction((m) => merges.merge(m, b.contactId, b.contactId, { type: 'system' }))).rejects.toThrow(
      /itself/,
    );
  });
});
