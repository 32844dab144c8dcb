import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { ImapFlow } from 'imapflow';
import { Client } from 'pg';
import { io, Socket } from 'socket.io-client';
import { Channel, demoInboxSecrets } from '@oq/contracts';
import { signMetaBody } from '../apps/social-service/src/webhooks/signature';
import { pbxSignature } from '../apps/voice-service/src/pbx/pbx-signature';
import { twilioSignature } from '../apps/voice-service/src/twilio/twilio-signature';

/**
 * `npm run demo:traffic`: a support team's morning in a minute. Sends one customer message per
 * channel to the running demo stack (npm start with SEED_DEMO=true), each signed the way its
 * provider signs it, in English, Chinese and Indonesian, about what a wallet's customers write
 * about: a failed transfer, a refund, an account change, a hacked account. Every run uses new
 * external ids, so it can be run again and again. `--stay` keeps the chat customer online
 * (acknowledging replies) until Ctrl-C.
 *
 * Reads .env's variables from the environment (the npm script loads .env): DEMO_KEY,
 * DATABASE_URL (to find the demo inboxes), the services' ports, BIND_HOST.
 */

interface DemoInboxRow {
  id: string;
  channel: Channel;
  address: string;
}

export interface TrafficResult {
  channel: string;
  what: string;
  language: 'en' | 'zh' | 'id';
  ok: boolean;
  detail: string;
  /** The id the channel service stores the message under (messages.external_id). */
  externalId?: string;
}

const env = process.env;
export const hostOf = () => (!env.BIND_HOST || env.BIND_HOST === '0.0.0.0' ? '127.0.0.1' : env.BIND_HOST);
/** Each service's own URL variable: compose names the containers; npm start has them all on this host. */
const URL_VARS: Record<string, string> = {
  TICKET_SERVICE_PORT: 'TICKET_SERVICE_URL',
  SOCIAL_SERVICE_PORT: 'SOCIAL_SERVICE_URL',
  VOICE_SERVICE_PORT: 'VOICE_SERVICE_URL',
  CHAT_SERVICE_PORT: 'CHAT_SERVICE_URL',
};
/** A service's URL: its *_SERVICE_URL when set, else this host and its port. */
export const url = (portVar: string, fallback: number) =>
  env[URL_VARS[portVar] ?? '']?.replace(/\/+$/, '') ?? `http://${hostOf()}:${env[portVar] ?? fallback}`;
const now = () => Math.floor(Date.now() / 1000);
const id = (n = 8) => randomBytes(n).toString('hex');

export async function sendDemoTraffic(opts: { stay?: boolean; log?: (line: string) => void } = {}): Promise<{
  results: TrafficResult[];
  chat?: Socket;
}> {
  const log = opts.log ?? (() => undefined);
  const demoKey = env.DEMO_KEY;
  if (!demoKey)
    throw new Error('DEMO_KEY is not set: run `npm start` once (it writes .env), then npm run demo:traffic');
  const inboxes = await demoInboxRows();
  const inbox = (channel: Channel) => {
    const found = inboxes.find((i) => i.channel === channel);
    if (!found) throw new Error(`no demo ${channel} inbox: is SEED_DEMO=true and has npm start run once?`);
    return { ...found, secrets: demoInboxSecrets(demoKey, channel, found.address) };
  };
  const social = url('SOCIAL_SERVICE_PORT', 3003);
  const voice = url('VOICE_SERVICE_PORT', 3004);
  const voicePublic = (env.VOICE_PUBLIC_BASE_URL ?? `http://localhost:${env.VOICE_SERVICE_PORT ?? 3004}`).replace(
    /\/+$/,
    '',
  );
  const results: TrafficResult[] = [];
  const record = async (
    r: Omit<TrafficResult, 'ok' | 'detail'>,
    send: () => Promise<Response | string>,
  ): Promise<void> => {
    try {
      const res = await send();
      const ok = typeof res === 'string' || res.ok;
      const detail = typeof res === 'string' ? res : `HTTP ${res.status}${ok ? '' : ` ${await res.text()}`}`;
      results.push({ ...r, ok, detail });
    } catch (err) {
      results.push({ ...r, ok: false, detail: (err as Error).message });
    }
    const last = results.at(-1)!;
    log(`${last.ok ? 'sent  ' : 'FAILED'} ${last.channel.padEnd(9)} [${last.language}] ${last.what} — ${last.detail}`);
  };
  const postMeta = (i: ReturnType<typeof inbox>, payload: unknown) => {
    const body = JSON.stringify(payload);
    return fetch(`${social}/webhooks/meta/${i.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(body, i.secrets.appSecret) },
      body,
    });
  };

  // Hotline (Twilio, Indonesian callers): an answered call, later a missed one.
  const vo = inbox('voice');
  const twilio = (params: Record<string, string>) => {
    const path = `/webhooks/twilio/${vo.id}`;
    return fetch(voice + path, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(vo.secrets.authToken, voicePublic + path, params),
      },
      body: new URLSearchParams(params).toString(),
    });
  };
  const call = (sid: string, from: string, over: Record<string, string>) => ({
    AccountSid: vo.secrets.accountSid,
    ApiVersion: '2010-04-01',
    CallSid: sid,
    From: from,
    To: vo.address,
    Direction: 'inbound',
    Timestamp: new Date().toUTCString(),
    ...over,
  });
  // Budi first calls the hotline, then writes on WhatsApp from the same number: one contact, so an
  // agent can answer the call ticket on WhatsApp. The call is stored before the WhatsApp message is
  // sent: a call after it would join his open WhatsApp ticket instead (routeCall), as it should.
  const answered = `CA${id(16)}`;
  await record({ channel: 'voice', language: 'id', what: 'call: transfer still missing', externalId: answered }, () =>
    twilio(call(answered, '+6281234567001', { CallStatus: 'completed', CallDuration: '184' })),
  );
  await waitStored(answered);

  // WhatsApp (Indonesian): a transfer that failed after the balance was taken.
  const wa = inbox('whatsapp');
  const wamid = `wamid.demo${id(12)}`;
  await record({ channel: 'whatsapp', language: 'id', what: 'failed transfer', externalId: wamid }, () =>
    postMeta(wa, {
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '100000000000900',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550100', phone_number_id: wa.address },
                contacts: [{ profile: { name: 'Budi Santoso' }, wa_id: '6281234567001' }],
                messages: [
                  {
                    from: '6281234567001',
                    id: wamid,
                    timestamp: String(now()),
                    type: 'text',
                    text: {
                      body: 'Halo, transfer saya ke rekening BCA gagal, tapi saldo saya sudah terpotong Rp 500.000. Mohon dibantu, uangnya untuk bayar sekolah anak.',
                    },
                  },
                ],
              },
            },
          ],
        },
      ],
    }),
  );

  // Messenger (English): a refund that has not arrived.
  const fb = inbox('messenger');
  const fbMid = `m_demo${id(16)}`;
  await record({ channel: 'messenger', language: 'en', what: 'refund not received', externalId: fbMid }, () =>
    postMeta(fb, {
      object: 'page',
      entry: [
        {
          id: fb.address,
          time: Date.now(),
          messaging: [
            {
              sender: { id: '7100000000000001' },
              recipient: { id: fb.address },
              timestamp: Date.now(),
              message: {
                mid: fbMid,
                text: 'Hi, the merchant cancelled my order #A-2291 a week ago and said the refund of $42.00 was sent to my wallet. I still do not see it. Can you check?',
              },
            },
          ],
        },
      ],
    }),
  );

  // Instagram (Chinese): a hacked account.
  const ig = inbox('instagram');
  const igMid = `aWdfZGVtb${id(16)}`;
  await record({ channel: 'instagram', language: 'zh', what: 'hacked account', externalId: igMid }, () =>
    postMeta(ig, {
      object: 'instagram',
      entry: [
        {
          id: ig.address,
          time: Date.now(),
          messaging: [
            {
              sender: { id: '8100000000000001' },
              recipient: { id: ig.address },
              timestamp: Date.now(),
              message: {
                mid: igMid,
                text: '你好，我的钱包账户好像被盗了！今天早上有两笔我没有做过的付款，一共 1,200 元。请马上冻结我的账户。',
              },
            },
          ],
        },
      ],
    }),
  );

  // Telegram (English): moving the account to a new phone number.
  const tg = inbox('telegram');
  const updateId = Math.floor(Date.now() / 1000) * 100 + Math.floor(Math.random() * 100);
  await record({ channel: 'telegram', language: 'en', what: 'account change', externalId: String(updateId) }, () =>
    fetch(`${social}/webhooks/telegram/${tg.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': tg.secrets.webhookSecret },
      body: JSON.stringify({
        update_id: updateId,
        message: {
          message_id: Math.floor(Math.random() * 1e6),
          date: now(),
          chat: { id: 5100000001, type: 'private', first_name: 'Ayu', last_name: 'Lestari', username: 'ayu_l' },
          from: { id: 5100000001, is_bot: false, first_name: 'Ayu', last_name: 'Lestari', username: 'ayu_l' },
          text: 'I lost my old SIM card. How do I move my wallet account to my new number +62 812-5555-0199?',
        },
      }),
    }),
  );

  const missed = `CA${id(16)}`;
  await record({ channel: 'voice', language: 'id', what: 'missed call', externalId: missed }, () =>
    twilio(call(missed, '+6285711122233', { CallStatus: 'no-answer', CallDuration: '0' })),
  );

  // PBX record (Chinese-speaking caller, transcript in Chinese).
  const pbxCallId = `pbx-${id(8)}`;
  await record({ channel: 'voice', language: 'zh', what: 'PBX call: double charge', externalId: pbxCallId }, () => {
    const started = new Date(Date.now() - 5 * 60_000);
    const body = JSON.stringify({
      callId: pbxCallId,
      direction: 'inbound',
      from: '+6281555000111',
      to: vo.address,
      queue: 'Payments',
      startedAt: started.toISOString(),
      answeredAt: new Date(started.getTime() + 20_000).toISOString(),
      endedAt: new Date(started.getTime() + 260_000).toISOString(),
      durationSec: 240,
      disposition: 'answered',
      transcript: '客户说她昨天充值 300,000 印尼盾被扣了两次，希望退回多扣的一笔。',
    });
    const ts = String(now());
    return fetch(`${voice}/webhooks/pbx/${vo.id}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-onequeue-timestamp': ts,
        'x-onequeue-signature': pbxSignature(vo.secrets.signingSecret, ts, body),
      },
      body,
    });
  });

  // In-app chat (Indonesian): a signed-in app user, verified with the inbox's user hash.
  const ch = inbox('chat');
  let chat: Socket | undefined;
  const userId = 'wallet-user-20931';
  const clientId = randomUUID();
  await record(
    { channel: 'chat', language: 'id', what: 'top-up not credited', externalId: `app_user:${userId}:${clientId}` },
    async () => {
      chat = await connectChat(ch.id, {
        userId,
        userHash: createHmac('sha256', ch.secrets.identityVerificationSecret).update(userId).digest('hex'),
        name: 'Siti Rahayu',
      });
      const ack = (await chat.timeout(10_000).emitWithAck('message:send', {
        clientId,
        text: 'Top-up saya Rp 200.000 lewat Indomaret kemarin belum masuk ke saldo. Struknya masih saya simpan.',
        attachments: [],
      })) as { ok: boolean; message?: string };
      if (!ack.ok) throw new Error(`chat refused the message: ${ack.message}`);
      return 'acknowledged by chat-service';
    },
  );
  if (chat && !opts.stay) {
    chat.disconnect();
    chat = undefined;
  }

  // Email (Chinese): a refund request, appended to the demo mailbox the way a mail server delivers it.
  const em = inbox('email');
  const messageId = `<${id(12)}@customer.example>`;
  await record({ channel: 'email', language: 'zh', what: 'refund request', externalId: messageId }, async () => {
    const imap = new ImapFlow({
      host: env.DEMO_MAIL_HOST ?? '127.0.0.1',
      port: Number(env.DEMO_IMAP_PORT ?? 1143),
      secure: false,
      auth: { user: em.address, pass: em.secrets.imapPassword },
      logger: false,
    });
    await imap.connect();
    try {
      const subject = `=?UTF-8?B?${Buffer.from('退款申请：订单 88213 重复扣款').toString('base64')}?=`;
      const text =
        '您好，\r\n\r\n我在 11 月 30 日为订单 88213 付款时被扣了两次（各 ¥86.00）。请把多扣的那一笔退回到我的钱包。\r\n\r\n谢谢！\r\n李伟\r\n';
      const raw = [
        `From: =?UTF-8?B?${Buffer.from('李伟').toString('base64')}?= <li.wei@customer.example>`,
        `To: Wallet Support <${em.address}>`,
        `Subject: ${subject}`,
        `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
        `Message-ID: ${messageId}`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=UTF-8',
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.from(text).toString('base64').replace(/.{76}/g, '$&\r\n'),
        '',
      ].join('\r\n');
      await imap.append('INBOX', raw);
    } finally {
      await imap.logout().catch(() => undefined);
    }
    return `appended to ${em.address} INBOX`;
  });

  return { results, chat };
}

/** Waits (at most 15 s) until ticket-service stored the message of this external id. */
async function waitStored(externalId: string): Promise<void> {
  const pg = new Client({ connectionString: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/onequeue' });
  await pg.connect();
  try {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const { rowCount } = await pg.query('SELECT 1 FROM messages WHERE external_id = $1', [externalId]);
      if (rowCount) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`message ${externalId} was not stored within 15 s: is the stack (npm start) running?`);
  } finally {
    await pg.end();
  }
}

async function demoInboxRows(): Promise<DemoInboxRow[]> {
  const pg = new Client({ connectionString: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/onequeue' });
  await pg.connect();
  try {
    const { rows } = await pg.query<DemoInboxRow>(
      `SELECT id, channel, address FROM inboxes WHERE demo AND enabled ORDER BY created_at`,
    );
    return rows;
  } finally {
    await pg.end();
  }
}

function connectChat(inboxId: string, auth: Record<string, string>): Promise<Socket> {
  const socket = io(url('CHAT_SERVICE_PORT', 3005), {
    path: '/chat/socket',
    transports: ['websocket'],
    auth: { inboxId, ...auth },
    reconnection: false,
  });
  // Replies arrive as `message` with an ack: acknowledging is what marks them delivered.
  socket.on('message', (message: { text?: string }, ack?: () => void) => {
    process.stdout.write(`chat: agent replied: ${String(message?.text ?? '').slice(0, 120)}\n`);
    ack?.();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('chat-service did not open a session within 10 s')), 10_000);
    socket.once('session', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      reject(new Error(`chat connect refused: ${err.message}`));
    });
  });
}
