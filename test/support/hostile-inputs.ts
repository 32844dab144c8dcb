import fc from 'fast-check';
import { randomUUID } from 'node:crypto';

/**
 * Hostile customer input for every ingest path, as data: each input carries a unique marker
 * (letters and digits only, so neither the card mask nor any escaping touches it) that the
 * message or dead letter it becomes can be found by. Used by the property test in CI
 * (test/e2e/hostile-input.spec.ts, fixed seed) and by `npm run bench:fuzz` (≥ 100,000 inputs).
 *
 * Structural fields that decide whether an event is a customer message at all (Telegram's
 * private chat, a WhatsApp `messages` entry) keep valid values; everything else is fair game:
 * NUL, lone surrogates, invalid UTF-8, RTL and zero-width marks, megabyte strings, deep
 * nesting, huge arrays, wrong types and duplicate keys.
 */
export type HostileChannel = 'whatsapp' | 'messenger' | 'telegram' | 'twilio' | 'pbx' | 'chat';

export interface HostileInput {
  channel: HostileChannel;
  marker: string;
  /** JSON channels: the exact body bytes (signed as they are). */
  body?: Buffer;
  /** Twilio: form parameters. */
  form?: Record<string, string>;
  /** Chat: the socket `message` payload. */
  chat?: unknown;
  /** What was done to it, for failure messages. */
  mutations: string[];
}

export interface HostileTargets {
  /** WhatsApp phone_number_id, Messenger page id, the voice hotline. */
  whatsappPhoneNumberId: string;
  messengerPageId: string;
  hotline: string;
  twilioAccountSid: string;
}

const PIECES = [
  '\u0000',
  '\ud800',
  '\udfff',
  '\ud83d',
  '\u202e',
  '\u200f',
  '\u200b',
  '\ufeff',
  '\u2028',
  '\\',
  '"',
  '\n',
  '\r',
  '\t',
  '😀',
  '退款',
  'pengembalian dana',
  '%00',
  '<script>',
  '4111 1111 1111 1111',
  '+49 151 1234 5678',
  'ȁ',
];

/**
 * Text with hostile code units; rarely a megabyte of it (weight `megabyte` against 25 for short
 * text: the benchmark lowers it, or 100,000 inputs would move gigabytes and measure only that).
 */
export function hostileTextOf(megabyte = 1): fc.Arbitrary<string> {
  // Weights are integers: in hundredths, so the benchmark can ask for 0.05.
  const mb = Math.round(megabyte * 100);
  return fc.oneof(
    { weight: 2000, arbitrary: fc.array(fc.constantFrom(...PIECES), { maxLength: 12 }).map((a) => a.join('')) },
    { weight: 500, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    ...(mb > 0
      ? [{ weight: mb, arbitrary: fc.constantFrom(...PIECES).map((p) => p.repeat(Math.ceil(1_000_000 / p.length))) }]
      : []),
  );
}

/**
 * A unique marker (across runs too, so a rerun never finds an old one): MK and 32 letters a–p, the
 * hex digits of a UUID moved to letters. No digits, because a run of 13+ digits inside a hex string
 * can be a Luhn-valid card number that the mask rightly rewrites, and the marker would be lost.
 */
export function newMarker(): string {
  return `MK${randomUUID()
    .replace(/-/g, '')
    .replace(/[0-9a-f]/g, (h) => String.fromCharCode(97 + parseInt(h, 16)))}`;
}
export const MARKER_PATTERN = /MK[a-p]{32}/g;
const marker = fc.constant(null).map(newMarker);

/** A value of the wrong type for a field that holds text, the marker inside where it can be. */
const wrongType = (m: string) =>
  // No bare null: a provider's null text is an empty message, which carries no marker to find.
  fc.constantFrom<unknown>(
    42,
    true,
    {},
    [m],
    { text: m },
    -1e308,
    Array.from({ length: 1000 }, () => m),
  );

type Mutation = { name: string; apply: (json: string, m: string) => string | Buffer };

/** Text-level mutations of the serialised body: what JSON.stringify alone cannot produce. */
const BODY_MUTATIONS: Mutation[] = [
  { name: 'none', apply: (j) => j },
  // Duplicate key: the last one wins in JSON.parse; both carry the marker.
  { name: 'duplicate-key', apply: (j, m) => j.replace(/^\{/, `{"object":"dup-${m}",`) },
  // Invalid UTF-8 next to the marker inside a string (decoding turns it into U+FFFD).
  {
    name: 'invalid-utf8',
    apply: (j, m) => {
      const at = j.indexOf(m);
      const buf = Buffer.from(j, 'utf8');
      const pos = Buffer.byteLength(j.slice(0, at), 'utf8');
      return Buffer.concat([
        buf.subarray(0, pos),
        Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]),
        buf.subarray(pos),
      ]);
    },
  },
  // Deep nesting in an extra field: 50k–100k levels.
  {
    name: 'deep-nesting',
    apply: (j) => {
      const n = 50_000 + Math.floor(Math.random() * 50_000);
      return j.replace(/\}$/, `,"deep":${'['.repeat(n)}${']'.repeat(n)}}`);
    },
  },
  // A huge array in an extra field.
  { name: 'huge-array', apply: (j) => j.replace(/\}$/, `,"huge":[${new Array(200_000).fill('0').join(',')}]}`) },
  // Cut off after the marker: not JSON any more.
  { name: 'truncated', apply: (j, m) => j.slice(0, j.indexOf(m) + m.length + 1) },
];

const bodyMutation = fc.oneof(
  { weight: 12, arbitrary: fc.constant(BODY_MUTATIONS[0]) },
  ...BODY_MUTATIONS.slice(1).map((arbitrary) => ({ weight: 1, arbitrary: fc.constant(arbitrary) })),
);

function withMarker(text: string, m: string): string {
  return `${text} ${m} ${text.slice(0, 64)}`;
}

const contentValue = (m: string, text: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 8, arbitrary: text.map((t) => withMarker(t, m) as unknown) },
    { weight: 1, arbitrary: wrongType(m) },
  );

function finish(channel: HostileChannel, m: string, json: unknown, mutation: Mutation, extra: string[]): HostileInput {
  const out = mutation.apply(JSON.stringify(json), m);
  return {
    channel,
    marker: m,
    body: Buffer.isBuffer(out) ? out : Buffer.from(out, 'utf8'),
    mutations: [mutation.name, ...extra],
  };
}

const digits = (n: number) => fc.stringMatching(new RegExp(`^[1-9][0-9]{${n - 1}}$`));

export function whatsappInput(t: HostileTargets, text: fc.Arbitrary<string>): fc.Arbitrary<HostileInput> {
  return marker.chain((m) =>
    fc
      .record({
        waId: fc.oneof({ weight: 6, arbitrary: digits(12) }, { weight: 1, arbitrary: text }),
        name: text,
        body: contentValue(m, text),
        mutation: bodyMutation,
      })
      .map(({ waId, name, body, mutation }) =>
        finish(
          'whatsapp',
          m,
          {
            object: 'whatsapp_business_account',
            entry: [
              {
                id: '102290129340398',
                changes: [
                  {
                    field: 'messages',
                    value: {
                      messaging_product: 'whatsapp',
                      metadata: { display_phone_number: '15550783881', phone_number_id: t.whatsappPhoneNumberId },
                      contacts: [{ profile: { name }, wa_id: waId }],
                      messages: [
                        {
                          from: waId,
                          id: `wamid.${m}`,
                          timestamp: String(Math.floor(Date.now() / 1000)),
                          type: 'text',
                          text: { body },
                        },
                      ],
                    },
                  },
                ],
              },
            ],
          },
          mutation,
          [typeof body === 'string' ? 'text' : `text:${typeof body}`],
        ),
      ),
  );
}

export function messengerInput(t: HostileTargets, text: fc.Arbitrary<string>): fc.Arbitrary<HostileInput> {
  return marker.chain((m) =>
    fc
      .record({ psid: fc.oneof(digits(16), text), text: contentValue(m, text), mutation: bodyMutation })
      .map(({ psid, text, mutation }) =>
        finish(
          'messenger',
          m,
          {
            object: 'page',
            entry: [
              {
                id: t.messengerPageId,
                time: Date.now(),
                messaging: [
                  {
                    sender: { id: psid },
                    recipient: { id: t.messengerPageId },
                    timestamp: Date.now(),
                    message: { mid: `m_${m}`, text },
                  },
                ],
              },
            ],
          },
          mutation,
          [],
        ),
      ),
  );
}

export function telegramInput(text: fc.Arbitrary<string>): fc.Arbitrary<HostileInput> {
  return marker.chain((m) =>
    fc
      .record({
        userId: fc.oneof(
          { weight: 6, arbitrary: fc.integer({ min: 1, max: 2 ** 40 }) },
          { weight: 1, arbitrary: text },
        ),
        firstName: text,
        username: fc.option(text, { nil: undefined }),
        text: contentValue(m, text),
        date: fc.oneof(
          { weight: 8, arbitrary: fc.constant(Math.floor(Date.now() / 1000)) },
          { weight: 1, arbitrary: fc.constantFrom<unknown>('yesterday', 1e20, -5, null) },
        ),
        mutation: bodyMutation,
      })
      .map(({ userId, firstName, username, text, date, mutation }) =>
        finish(
          'telegram',
          m,
          {
            update_id: Math.floor(Math.random() * 2 ** 31),
            message: {
              message_id: Math.floor(Math.random() * 2 ** 31),
              from: { id: userId, is_bot: false, first_name: firstName, username },
              chat: { id: userId, type: 'private' },
              date,
              text,
              // The marker also rides in a field every shape keeps, for bodies whose text is not a string.
              reply_markup: { marker: m },
            },
          },
          mutation,
          [],
        ),
      ),
  );
}

export function pbxInput(t: HostileTargets, text: fc.Arbitrary<string>): fc.Arbitrary<HostileInput> {
  return marker.chain((m) =>
    fc
      .record({
        from: fc.oneof({ weight: 4, arbitrary: fc.constant('+4915112345678') }, { weight: 1, arbitrary: text }),
        transcript: contentValue(m, text),
        agent: fc.option(text, { nil: undefined }),
        mutation: bodyMutation,
      })
      .map(({ from, transcript, agent, mutation }) => {
        const started = new Date(Date.now() - 120_000).toISOString();
        return finish(
          'pbx',
          m,
          {
            callId: `pbx-${m}`,
            direction: 'inbound',
            from,
            to: t.hotline,
            agent,
            startedAt: started,
            answeredAt: started,
            endedAt: new Date().toISOString(),
            durationSec: 100,
            disposition: 'answered',
            transcript,
          },
          mutation,
          [],
        );
      }),
  );
}

export function twilioInput(t: HostileTargets, text: fc.Arbitrary<string>): fc.Arbitrary<HostileInput> {
  return marker.chain((m) =>
    fc
      .record({
        from: fc.oneof({ weight: 4, arbitrary: fc.constant('+4915112345678') }, { weight: 1, arbitrary: text }),
        transcript: text,
        callerName: text,
      })
      .map(({ from, transcript, callerName }) => ({
        channel: 'twilio' as const,
        marker: m,
        form: {
          AccountSid: t.twilioAccountSid,
          CallSid: `CA${m}`,
          From: from,
          To: t.hotline,
          Direction: 'inbound',
          CallStatus: 'completed',
          CallDuration: '42',
          CallerName: callerName,
          TranscriptionText: withMarker(transcript, m),
          TranscriptionStatus: 'completed',
        },
        mutations: ['form'],
      })),
  );
}

export function chatInput(text: fc.Arbitrary<string>): fc.Arbitrary<HostileInput> {
  return marker.chain((m) =>
    fc
      .record({
        text: contentValue(m, text),
        clientId: fc.oneof({ weight: 4, arbitrary: fc.constant(`c-${m}`) }, { weight: 1, arbitrary: text }),
      })
      .map(({ text, clientId }) => ({
        channel: 'chat' as const,
        marker: m,
        chat: { clientId, text },
        mutations: [typeof text === 'string' ? 'text' : `text:${typeof text}`],
      })),
  );
}

/** Any channel's hostile input; `megabyteWeight` as for hostileTextOf. */
export function hostileInput(t: HostileTargets, opts: { megabyteWeight?: number } = {}): fc.Arbitrary<HostileInput> {
  const text = hostileTextOf(opts.megabyteWeight);
  return fc.oneof(
    whatsappInput(t, text),
    messengerInput(t, text),
    telegramInput(text),
    pbxInput(t, text),
    twilioInput(t, text),
    chatInput(text),
  );
}
