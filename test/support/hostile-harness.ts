import { SecretBox } from '@oq/platform';
import { randomUUID } from 'node:crypto';
import { io, Socket } from 'socket.io-client';
import { signMetaBody } from '../../apps/social-service/src/webhooks/signature';
import { pbxSignature } from '../../apps/voice-service/src/pbx/pbx-signature';
import { twilioSignature } from '../../apps/voice-service/src/twilio/twilio-signature';
import { HostileInput, MARKER_PATTERN } from './hostile-inputs';

/**
 * Sends hostile inputs the way each provider or client would and finds them again by marker:
 * shared by the property test (test/e2e/hostile-input.spec.ts) and `npm run bench:fuzz`.
 */
export interface HostileEndpoints {
  socialUrl: string;
  voiceUrl: string;
  chatUrl: string;
  /** The public base URL voice-service signs Twilio callbacks over. */
  voicePublicUrl: string;
  inboxes: { whatsapp: string; messenger: string; telegram: string; voice: string; chat: string };
  secrets: {
    whatsappAppSecret: string;
    messengerAppSecret: string;
    telegramWebhookSecret: string;
    twilioAuthToken: string;
    pbxSigningSecret: string;
  };
  /** Signs a chat user id with the chat inbox's identity secret (HMAC user hash). */
  userHash: (userId: string) => string;
}

/**
 * An inbox row with its secrets sealed as ticket-service seals them (the inbox id as additional
 * data), for the stacks that send hostile input; returns a function adding one inbox, returning its id.
 */
export function sealedInboxes(
  query: (sql: string, params: unknown[]) => Promise<unknown>,
  box: SecretBox,
  teamId: string,
) {
  return async (channel: string, address: string, secrets: object, settings: object = {}): Promise<string> => {
    const id = randomUUID();
    await query(
      `INSERT INTO inboxes (id, name, channel, address, default_team_id, settings, secrets)
       VALUES ($1, $2, $2, $3, $4, $5::jsonb, $6)`,
      [id, channel, address, teamId, JSON.stringify(settings), box.encrypt(JSON.stringify(secrets), id)],
    );
    return id;
  };
}

export interface SendResult {
  status: number;
  acknowledged: boolean;
}

export class HostileSender {
  /** One socket per lane, so a frame that makes socket.io drop a connection loses no other ack. */
  private readonly sockets = new Map<number, Socket>();

  constructor(private readonly e: HostileEndpoints) {}

  async send(input: HostileInput, lane: number): Promise<SendResult> {
    const { e } = this;
    switch (input.channel) {
      case 'whatsapp':
      case 'messenger':
        return this.post(`${e.socialUrl}/webhooks/meta/${e.inboxes[input.channel]}`, input.body!, {
          'x-hub-signature-256': signMetaBody(
            input.body!,
            input.channel === 'whatsapp' ? e.secrets.whatsappAppSecret : e.secrets.messengerAppSecret,
          ),
        });
      case 'telegram':
        return this.post(`${e.socialUrl}/webhooks/telegram/${e.inboxes.telegram}`, input.body!, {
          'x-telegram-bot-api-secret-token': e.secrets.telegramWebhookSecret,
        });
      case 'pbx': {
        const ts = String(Math.floor(Date.now() / 1000));
        return this.post(`${e.voiceUrl}/webhooks/pbx/${e.inboxes.voice}`, input.body!, {
          'x-onequeue-timestamp': ts,
          'x-onequeue-signature': pbxSignature(e.secrets.pbxSigningSecret, ts, input.body!),
        });
      }
      case 'twilio': {
        const path = `/webhooks/twilio/${e.inboxes.voice}`;
        const res = await fetch(e.voiceUrl + path, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-twilio-signature': twilioSignature(e.secrets.twilioAuthToken, e.voicePublicUrl + path, input.form!),
          },
          body: new URLSearchParams(input.form!).toString(),
        });
        await res.arrayBuffer();
        return { status: res.status, acknowledged: res.ok };
      }
      case 'chat': {
        const socket = await this.socket(lane);
        try {
          const ack = await socket.timeout(30_000).emitWithAck('message:send', input.chat);
          return { status: ack?.ok ? 200 : 400, acknowledged: !!ack?.ok };
        } catch {
          // socket.io drops a connection whose frame exceeds maxHttpBufferSize (1 MB): refused, unacknowledged.
          return { status: 413, acknowledged: false };
        }
      }
    }
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
  }

  private async post(url: string, body: Buffer, headers: Record<string, string>): Promise<SendResult> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: new Uint8Array(body),
    });
    await res.arrayBuffer();
    return { status: res.status, acknowledged: res.ok };
  }

  private async socket(lane: number): Promise<Socket> {
    const open = this.sockets.get(lane);
    if (open?.connected) return open;
    open?.close();
    const userId = `fuzz-${lane}`;
    const socket = io(this.e.chatUrl, {
      path: '/chat/socket',
      transports: ['websocket'],
      auth: { inboxId: this.e.inboxes.chat, userId, userHash: this.e.userHash(userId) },
      reconnection: false,
      forceNew: true,
    });
    this.sockets.set(lane, socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('session', () => resolve());
      socket.once('connect_error', (err) => reject(err));
    });
    return socket;
  }
}

type Query = <T = { id: string; hay: string }>(sql: string, params: unknown[]) => Promise<T[]>;

/**
 * Which messages (text, ids, metadata, kept originals) and dead letters (exact bytes) hold each
 * marker. Rows are read once, those written since the last look, and searched here: scanning
 * megabyte texts in SQL once per marker is quadratic. "Since the last look" is by transaction, not
 * by clock: a row's created_at is its transaction's start, and a batch that started long ago (a
 * loaded machine, a huge message) may commit after rows stamped seconds later were already read.
 */
export class MarkerScanner {
  private readonly seen = { messages: new Map<string, Set<string>>(), deadLetters: new Map<string, Set<string>>() };
  /**
   * Per table, the oldest transaction still running when the last look began (its snapshot's
   * xmin, as a 32-bit xid): every row written by an older one was already visible then and read.
   */
  private readonly horizon: Record<'messages' | 'deadLetters', string | null> = { messages: null, deadLetters: null };
  /** Stored messages whose text shows a phone number the card mask altered (`+•…`). */
  readonly maskedPhones = new Set<string>();

  constructor(private readonly query: Query) {}

  async counts(markers: string[]): Promise<Map<string, { messages: number; deadLetters: number }>> {
    await this.scan('messages');
    await this.scan('deadLetters');
    return new Map(
      markers.map((m) => [
        m,
        { messages: this.seen.messages.get(m)?.size ?? 0, deadLetters: this.seen.deadLetters.get(m)?.size ?? 0 },
      ]),
    );
  }

  /**
   * Waits until every marker is found somewhere, giving up only after `stallMs` without progress
   * (a loaded machine drains slower; a lost message never arrives); returns those still missing.
   */
  async waitFor(markers: string[], stallMs: number): Promise<string[]> {
    let missing = markers;
    let progressAt = Date.now();
    for (;;) {
      const counts = await this.counts(missing);
      const still = missing.filter((m) => counts.get(m)!.messages + counts.get(m)!.deadLetters === 0);
      if (still.length < missing.length) progressAt = Date.now();
      missing = still;
      if (!missing.length || Date.now() - progressAt > stallMs) return missing;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /**
   * For markers the incremental scan never found: where each one is after all, by a full search of
   * every place an input can rest (a row the scan's created_at window skipped, a call voice-service
   * has not emitted, or nowhere), so a failure tells which of scanner, service or queue lost it.
   */
  async whereIs(markers: string[]): Promise<Map<string, string[]>> {
    const places = new Map(markers.map((m) => [m, [] as string[]]));
    if (!markers.length) return places;
    const rows = await this.query<{ marker: string; place: string }>(
      `SELECT k.marker, p.place FROM unnest($1::text[]) AS k(marker)
         CROSS JOIN LATERAL (
           SELECT 'message ' || m.id || ' (created ' || m.created_at || ', revision ' || m.revision || ')' AS place
             FROM messages m LEFT JOIN message_originals o ON o.message_id = m.id
            WHERE strpos(concat_ws(' ', m.external_id, m.text, m.metadata::text, encode(o.original, 'escape')), k.marker) > 0
           UNION ALL
           SELECT 'dead letter ' || d.id FROM dead_letters d WHERE strpos(encode(d.payload_bytes, 'escape'), k.marker) > 0
           UNION ALL
           SELECT 'voice call ' || v.call_id || ' (final ' || v.final || ', target ' || coalesce(v.target_revision::text, '-')
                  || ', emitted ' || coalesce(v.emitted_revision::text, '-') || ')'
             FROM voice_calls v WHERE strpos(v.events::text || v.state::text, k.marker) > 0
         ) p`,
      [markers],
    );
    for (const r of rows) places.get(r.marker)!.push(r.place);
    return places;
  }

  private async scan(table: 'messages' | 'deadLetters') {
    // Taken before the look: a transaction running now may commit during it; the next look covers it.
    const [{ xmin }] = await this.query<{ xmin: string }>(
      `SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::bigint % 4294967296)::text AS xmin`,
      [],
    );
    // age() compares xids across wraparound; a row written since the horizon (a new message, a new
    // revision, an original kept later) is younger than it. Paged by id: megabyte rows stay few in memory.
    const sql =
      table === 'messages'
        ? `SELECT m.id, concat_ws(' ', m.external_id, m.text, m.metadata::text, encode(o.original, 'escape')) AS hay
             FROM messages m LEFT JOIN message_originals o ON o.message_id = m.id
            WHERE ($1::text IS NULL OR age(m.xmin) <= age($1::text::xid) OR age(o.xmin) <= age($1::text::xid))
              AND m.id > $2::uuid ORDER BY m.id LIMIT 200`
        : `SELECT id, encode(payload_bytes, 'escape') AS hay FROM dead_letters
            WHERE ($1::text IS NULL OR age(xmin) <= age($1::text::xid)) AND id > $2::uuid ORDER BY id LIMIT 200`;
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const rows = await this.query(sql, [this.horizon[table], after]);
      for (const r of rows) {
        for (const [m] of r.hay.matchAll(MARKER_PATTERN)) {
          const ids = this.seen[table].get(m) ?? new Set<string>();
          ids.add(r.id);
          this.seen[table].set(m, ids);
        }
        if (table === 'messages' && /\+[\s•]*•/.test(r.hay)) this.maskedPhones.add(r.id);
      }
      if (rows.length < 200) break;
      after = rows[rows.length - 1].id;
    }
    this.horizon[table] = xmin;
  }
}
