import { DeadLetterService } from '../dead-letters/dead-letter.service';
import { IngestTestKit } from './ingest-test-kit';

/**
 * Text Postgres cannot hold (U+0000, lone surrogates) used to fail every retry of the inbound job
 * and then the dead-letter insert too, so an acknowledged message vanished. Now the contract makes
 * it storable, the message lands, and the exact original is kept as bytes beside it.
 */
describe('hostile text at ingest (real Postgres + Redis)', () => {
  let kit: IngestTestKit;
  beforeAll(async () => (kit = await IngestTestKit.start()), 30000);
  afterAll(async () => kit?.stop());

  it('stores a message with NUL and lone surrogates anywhere, says what changed and keeps the original bytes', async () => {
    const text = 'refund\u0000 please \ud800 now';
    const msg = kit.message(
      'telegram',
      { kind: 'telegram', value: '777\u0000', displayName: 'Ann\udc00' },
      {
        text,
        metadata: { 'k\u0000ey': ['v\u0000'], nested: { deep: 'ok' } },
      },
    );
    await kit.ingest(msg);
    const [row] = await kit.ds.query(
      `SELECT m.id, m.text, m.metadata, o.fields, o.original, c.name AS display_name, i.value
         FROM messages m JOIN message_originals o ON o.message_id = m.id
         JOIN contacts c ON c.id = m.author_contact_id
         JOIN contact_identities i ON i.contact_id = c.id
        WHERE m.external_id = $1`,
      [msg.externalId],
    );
    expect(row.text).toBe('refund\ufffd please \ufffd now');
    expect(row.value).toBe('777\ufffd');
    expect(row.display_name).toBe('Ann\ufffd');
    expect(row.metadata['k\ufffdey']).toEqual(['v\ufffd']);
    expect(row.metadata.textAltered.fields).toEqual(
      expect.arrayContaining(['text', 'sender.value', 'sender.displayName', 'metadata.k\ufffdey#key']),
    );
    expect(row.metadata.textAltered.original).toBeUndefined();
    const original = JSON.parse(row.original.toString('utf8'));
    expect(original.text).toBe(text);
    expect(original['sender.displayName']).toBe('Ann\udc00');
    expect(original['metadata.k\ufffdey#key']).toBe('k\u0000ey');
    // Exactly once: the same job again is a duplicate, not a second message.
    await kit.ingest(msg);
    expect(await kit.count('messages WHERE external_id = $1', [msg.externalId])).toBe(1);
  });

  it('dead-letters an invalid payload full of NUL as bytes instead of failing the dead-letter insert', async () => {
    const bad = { ...kit.message('chat', { kind: 'visitor', value: 'v\u0000' }), inboxId: 'not-a-uuid\u0000', text: 7 };
    await kit.ingest(bad);
    const letters = await kit.app.get(DeadLetterService).list({ limit: 5 });
    const letter = letters.items.find((l) => (l.payload as { inboxId?: string })?.inboxId === 'not-a-uuid\u0000');
    expect(letter).toBeDefined();
    expect(letter!.reason).toMatch(/inboxId/);
    expect((await kit.app.get(DeadLetterService).payloadBytes(letter!.id)).toString('utf8')).toContain(
      '"not-a-uuid\\u0000"',
    );
  });

  it('keeps a payload too deep to show and refuses to replay it', async () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 20000; i++) deep = [deep];
    const service = kit.app.get(DeadLetterService);
    const id = await service.record({ queue: 'inbound', jobName: 'inbound-message', payload: deep, reason: 'test' });
    const shown = await service.get(id);
    expect(shown.payload).toBeNull();
    expect(shown.payloadNote).toMatch(/nested deeper than 64 levels/);
    const bytes = (await service.payloadBytes(id)).toString('utf8');
    expect(bytes.length).toBe(20000 * 2 + '"bottom"'.length);
    expect(bytes.startsWith('[[[')).toBe(true);
    await expect(service.replay(id)).rejects.toThrow(/cannot be replayed/);
  });
});
