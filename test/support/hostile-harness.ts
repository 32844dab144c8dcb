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

type Query = (sql: string, params: unknown[]) => Promise<{ id: string; at: string; hay: string }[]>;

/**
 * Which messages (text, ids, metadata, kept originals) and dead letters (exact bytes) hold each
 * marker. Rows are read once, newest since the last look, and searched here: scanning megabyte
 * texts in SQL once per marker is quadratic. Each look reaches back 10 s before the newest row
 * seen, because a row's created_at is its transaction's start and a longer batch commits later.
 */
export class MarkerScanner {
  private readonly seen = { messages: new Map<string, Set<string>>(), deadLetters: new Map<string, Set<string>>() };
  /** Newest created_at read per table; each look starts 10 s before it (see scan). */
  private readonly since = { messages: '-infinity', deadLetters: '-infinity' };
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

  private async scan(table: 'messages' | 'deadLetters') {
    // Paged by (created_at, id), so a run of megabyte messages never sits in memory at once.
    const sql =
      table === 'messages'
        ? `SELECT m.id, m.created_at::text AS at,
                  concat_ws(' ', m.external_id, m.text, m.metadata::text, encode(o.original, 'escape')) AS hay
             FROM messages m LEFT JOIN message_originals o ON o.message_id = m.id
            WHERE (m.created_at, m.id) > ($1::timestamptz - $3::interval, $2::uuid) ORDER BY m.created_at, m.id LIMIT 200`
        : `SELECT id, created_at::text AS at, encode(payload_bytes, 'escape') AS hay
             FROM dead_letters WHERE (created_at, id) > ($1::timestamptz - $3::interval, $2::uuid) ORDER BY created_at, id LIMIT 200`;
    // The first page starts 10 s back: a batch that began earlier may commit after rows already read.
    let after: [string, string, string] = [this.since[table], '00000000-0000-0000-0000-000000000000', '10 seconds'];
    let newest = this.since[table];
    for (;;) {
      const rows = await this.query(sql, after);
      for (const r of rows) {
        for (const [m] of r.hay.matchAll(MARKER_PATTERN)) {
          const ids = this.seen[table].get(m) ?? new Set<string>();
          ids.add(r.id);
          this.seen[table].set(m, ids);
        }
        if (table === 'messages' && /\+[\s•]*•/.test(r.hay)) this.maskedPhones.add(r.id);
        newest = r.at;
      }
      if (rows.length < 200) break;
      after = [rows[rows.length - 1].at, rows[rows.length - 1].id, '0 seconds'];
    }
    this.since[table] = newest;
  }
}
