import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { normalizePhone, VoiceInboxSettings } from '@oq/contracts';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { ContactResolverService, normalizeIdentity } from '../contacts/contact-resolver.service';
import { IngestTestKit } from './ingest-test-kit';

/**
 * One customer, one contact, whichever channel reaches us first: the WhatsApp parser (social-service)
 * and the call paths (voice-service) both write the number with normalizePhone, and the resolver reads
 * it with the same rule. Apps do not import each other, so the messages are built here as those
 * services build them, with the same shared function and the voice inbox's region.
 */
describe('phone numbers link WhatsApp and voice to one contact (real Postgres + Redis, booted ticket-service)', () => {
  let kit: IngestTestKit;
  let region: string;
  beforeAll(async () => {
    kit = await IngestTestKit.start();
    // An Indonesian hotline whose PBX writes callers in national format.
    await kit.ds.query(`UPDATE inboxes SET settings = '{"defaultRegion":"ID"}' WHERE id = $1`, [kit.inboxes.voice]);
    const [inbox] = await kit.ds.query(`SELECT settings FROM inboxes WHERE id = $1`, [kit.inboxes.voice]);
    region = VoiceInboxSettings.parse(inbox.settings).defaultRegion!;
  }, 30000);
  afterAll(async () => kit?.stop());

  /** What parseWhatsApp makes of a text message from `waId` (social-service, whatsapp-parser.ts). */
  const whatsapp = (waId: string, name: string, text: string) => {
    const phone = normalizePhone(waId);
    return kit.message(
      'whatsapp',
      { kind: 'whatsapp', value: waId, displayName: name, linked: phone ? [{ kind: 'phone', value: phone }] : [] },
      { externalId: `wamid.${randomUUID()}`, revision: 0, text, attachments: [], metadata: { whatsappType: 'text' } },
    );
  };

  /** The call log voice-service emits for a missed PBX call from `from` (customerNumber with the inbox region). */
  const pbxMissedCall = (from: string) => {
    const caller = normalizePhone(from, region)!;
    const callId = `pbx-${randomUUID()}`;
    const startedAt = new Date(Date.now() - 60000).toISOString();
    return kit.message('voice', { kind: 'phone', value: caller }, {
      kind: 'call_log',
      externalId: callId,
      revision: 0,
      subject: `Missed call from ${caller}`,
      text: `Inbound call from ${caller} (missed).`,
      attachments: [],
      call: {
        callId,
        direction: 'inbound',
        from: caller,
        to: '+622150001000',
        disposition: 'missed',
        startedAt,
        endedAt: new Date().toISOString(),
        durationSec: 0,
      },
      metadata: { provider: 'pbx' },
    } as never);
  };

  const contactOf = async (externalId: string): Promise<string> => {
    const [row] = await kit.ds.query(`SELECT author_contact_id FROM messages WHERE external_id = $1`, [externalId]);
    return row.author_contact_id;
  };
  const identities = (contactId: string) =>
    kit.ds.query(`SELECT kind, value FROM contact_identities WHERE contact_id = $1 ORDER BY kind`, [contactId]);

  it('WhatsApp first, then a call in national format: one contact, found again by what an agent types', async () => {
    const wa = whatsapp('6281234567001', 'Sari Wulandari', 'saldo saya belum masuk');
    expect(wa.sender.linked).toEqual([{ kind: 'phone', value: '+6281234567001' }]);
    await kit.ingest(wa);
    const contactId = await contactOf(wa.externalId);

    const call = pbxMissedCall('0812-3456-7001');
    expect(call.sender).toEqual({ kind: 'phone', value: '+6281234567001' });
    await kit.ingest(call);
    expect(await contactOf(call.externalId)).toBe(contactId);

    expect(await identities(contactId)).toEqual([
      { kind: 'phone', value: '+6281234567001' },
      { kind: 'whatsapp', value: '6281234567001' },
    ]);
    const resolver = kit.app.get(ContactResolverService);
    for (const typed of ['+62 812-3456-7001', '0062 812 3456 7001', '+6281234567001'])
      expect(await resolver.find(kit.ds.manager, { kind: 'phone', value: typed })).toMatchObject({ contactId });
    expect(await kit.count(`contacts WHERE merged_into_id IS NULL AND id = $1`, [contactId])).toBe(1);
  });

  it('a call in national format first, then WhatsApp: the wa_id joins the caller', async () => {
    const call = pbxMissedCall('081234567002');
    await kit.ingest(call);
    const contactId = await contactOf(call.externalId);

    const wa = whatsapp('6281234567002', 'Budi Santoso', 'tadi saya telepon');
    await kit.ingest(wa);
    expect(await contactOf(wa.externalId)).toBe(contactId);
    expect(await identities(contactId)).toEqual([
      { kind: 'phone', value: '+6281234567002' },
      { kind: 'whatsapp', value: '6281234567002' },
    ]);
    const [link] = await kit.ds.query(
      `SELECT l.value FROM contact_identities w JOIN contact_identities l ON l.id = w.linked_identity_id
        WHERE w.kind = 'whatsapp' AND w.value = '6281234567002'`,
    );
    expect(link).toEqual({ value: '+6281234567002' });
  });
});

describe('normalizeIdentity (phone) keeps every stored contact_identities value', () => {
  /** The resolver's phone branch before normalizePhone, verbatim: what the stored values were written with. */
  const before = (raw: string) => {
    const compact = raw
      .trim()
      .replace(/[\s().-]/g, '')
      .replace(/^00/, '+');
    const parsed = parsePhoneNumberFromString(compact.startsWith('+') ? compact : `+${compact}`);
    return parsed?.isPossible() ? parsed.number : compact;
  };

  it('gives the value the old rule gave for any phone-like input, readable or not', () => {
    const phoneish = fc
      .array(fc.constantFrom(...'0123456789 +-().'.split('')), { minLength: 1, maxLength: 18 })
      .map((a) => a.join(''));
    const written = fc.constantFrom(
      '+49 30 1234 5678',
      '0049 30 12345678',
      '4915112345678',
      '0812-3456-7890',
      'anonymous',
      'tel:+14155552671',
      '+1 415 555 2671 ext. 12',
    );
    fc.assert(
      fc.property(fc.oneof(phoneish, written), (raw) =>
        expect(normalizeIdentity({ kind: 'phone', value: raw }).value).toBe(before(raw)),
      ),
      { seed: 29, numRuns: 20_000 },
    );
  });
});
