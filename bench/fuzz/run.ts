/**
 * npm run bench:fuzz — "acknowledged means stored" at scale, against the built services running as
 * processes (ticket-, social-, voice- and chat-service). BENCH_FUZZ_INPUTS (100,000) hostile inputs
 * from the same generators as the CI property test (test/support/hostile-inputs.ts: NUL, lone
 * surrogates, invalid UTF-8, RTL/zero-width marks, 1 MB strings, deep nesting, huge arrays, wrong
 * types, duplicate keys, truncated JSON) go to the real Meta, Telegram, Twilio, PBX and chat
 * endpoints from BENCH_FUZZ_LANES (16) parallel lanes, in seeded chunks (BENCH_FUZZ_SEED).
 * Then every acknowledged input must be found by its marker as a message or a dead letter.
 *
 * RESULT inputs acknowledged stored_or_dead_lettered lost http_5xx masked_phones duplicated
 * refused_but_stored, plus the rate the run sustained (inputs_per_s) for the record.
 * Env: BENCH_SKIP_BUILD=1 to reuse dist/.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { SecretBox } from '@oq/platform';
import fc from 'fast-check';
import { freePort } from '../../test/support/redis-server';
import { HostileSender, MarkerScanner, sealedInboxes } from '../../test/support/hostile-harness';
import { HostileTargets, hostileInput } from '../../test/support/hostile-inputs';
import { machine, prepareStack, printResult } from '../support/stack';

const INPUTS = Number(process.env.BENCH_FUZZ_INPUTS ?? 100_000);
const LANES = Number(process.env.BENCH_FUZZ_LANES ?? 16);
const SEED = Number(process.env.BENCH_FUZZ_SEED ?? 20261201);
/** Share of megabyte strings, against 25 for short text (1 in CI): at 100,000 inputs the CI share would move gigabytes. */
const MEGABYTE_WEIGHT = Number(process.env.BENCH_FUZZ_MEGABYTE_WEIGHT ?? 0.05);
const CHUNK = 500;
const PUBLIC_VOICE_URL = 'https://hooks.bench.example/voice';

async function main() {
  const stack = await prepareStack('fuzz');
  const box = new SecretBox(stack.env.SECRETS_KEYS!, stack.env.SECRETS_ACTIVE_KEY!);
  const secrets = {
    whatsappAppSecret: randomBytes(16).toString('hex'),
    messengerAppSecret: randomBytes(16).toString('hex'),
    telegramWebhookSecret: `tg_${randomBytes(12).toString('hex')}`,
    twilioAuthToken: randomBytes(16).toString('hex'),
    pbxSigningSecret: randomBytes(16).toString('hex'),
  };
  const chatSecret = randomBytes(24).toString('hex');
  const targets: HostileTargets = {
    whatsappPhoneNumberId: '106540352242988',
    messengerPageId: '104857600000088',
    hotline: '+4930999000',
    twilioAccountSid: `AC${randomBytes(16).toString('hex')}`,
  };
  try {
    const team = (await stack.pool.query(`INSERT INTO teams (name) VALUES ('Fuzz') RETURNING id`)).rows[0].id;
    const inbox = sealedInboxes((sql, params) => stack.pool.query(sql, params), box, team);
    const inboxes = {
      whatsapp: await inbox('whatsapp', targets.whatsappPhoneNumberId, {
        appSecret: secrets.whatsappAppSecret,
        verifyToken: 'bench',
        accessToken: 'bench-token',
      }),
      messenger: await inbox('messenger', targets.messengerPageId, {
        appSecret: secrets.messengerAppSecret,
        verifyToken: 'bench',
        accessToken: 'bench-token',
      }),
      telegram: await inbox('telegram', '7000009876', {
        botToken: '7000009876:AAFuzzBenchToken_abcdefghijklm',
        webhookSecret: secrets.telegramWebhookSecret,
      }),
      voice: await inbox(
        'voice',
        targets.hotline,
        {
          accountSid: targets.twilioAccountSid,
          authToken: secrets.twilioAuthToken,
          signingSecret: secrets.pbxSigningSecret,
        },
        { defaultRegion: 'DE' },
      ),
      chat: await inbox(
        'chat',
        'fuzz-widget',
        { identityVerificationSecret: chatSecret },
        { allowedOrigins: ['https://wallet.example'] },
      ),
    };
    const ticket = await stack.start('ticket-service', {
      DB_POOL_SIZE: '12',
      TICKET_SERVICE_PORT: String(await freePort()),
    });
    const channel = (service: string, portVar: string, extra: Record<string, string> = {}) =>
      freePort().then((port) =>
        stack.start(service, { TICKET_SERVICE_URL: ticket.url, [portVar]: String(port), ...extra }),
      );
    const [social, voice, chat] = await Promise.all([
      channel('social-service', 'SOCIAL_SERVICE_PORT'),
      channel('voice-service', 'VOICE_SERVICE_PORT', {
        VOICE_PUBLIC_BASE_URL: PUBLIC_VOICE_URL,
        VOICE_DEFAULT_REGION: 'DE',
      }),
      // Abuse limits are not what this measures: they would refuse what must be stored.
      channel('chat-service', 'CHAT_SERVICE_PORT', {
        CHAT_SOCKET_MESSAGES_PER_WINDOW: '100000000',
        CHAT_IP_MESSAGES_PER_WINDOW: '100000000',
      }),
    ]);
    const sender = new HostileSender({
      socialUrl: social.url,
      voiceUrl: voice.url,
      chatUrl: chat.url,
      voicePublicUrl: PUBLIC_VOICE_URL,
      inboxes,
      secrets,
      userHash: (userId) => createHmac('sha256', chatSecret).update(userId).digest('hex'),
    });
    const scanner = new MarkerScanner(async (sql, params) => (await stack.pool.query(sql, params)).rows);

    const acked: string[] = [];
    /** What each acknowledged input was, to say what a lost one was. */
    const kinds = new Map<string, string>();
    const refused: string[] = [];
    const byStatus = new Map<number, number>();
    const t0 = performance.now();
    let sent = 0;
    for (let chunk = 0; sent < INPUTS; chunk++) {
      // Seeded per chunk, so memory holds one chunk of (sometimes megabyte) inputs at a time.
      const inputs = fc.sample(hostileInput(targets, { megabyteWeight: MEGABYTE_WEIGHT }), {
        seed: SEED + chunk,
        numRuns: Math.min(CHUNK, INPUTS - sent),
      });
      let next = 0;
      await Promise.all(
        Array.from({ length: LANES }, async (_, lane) => {
          while (next < inputs.length) {
            const input = inputs[next++];
            const r = await sender.send(input, lane).catch(() => ({ status: 0, acknowledged: false }));
            byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
            (r.acknowledged ? acked : refused).push(input.marker);
            if (r.acknowledged) kinds.set(input.marker, `${input.channel}/${input.mutations.join('+')}`);
          }
        }),
      );
      sent += inputs.length;
      if (chunk % 20 === 19)
        console.log(`${sent} inputs sent, ${((sent * 1000) / (performance.now() - t0)).toFixed(0)}/s`);
    }
    const sendSeconds = (performance.now() - t0) / 1000;
    const missing = await scanner.waitFor(acked, 120_000);
    const counts = await scanner.counts([...acked, ...refused]);
    const duplicated = acked.filter((m) => counts.get(m)!.messages > 1).length;
    const refusedButStored = refused.filter((m) => counts.get(m)!.messages > 0).length;
    const http5xx = [...byStatus].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
    sender.close();
    console.log(
      `machine: ${machine()}; ${sent} inputs in ${sendSeconds.toFixed(0)} s; statuses ${[...byStatus]
        .sort((a, b) => a[0] - b[0])
        .map(([s, c]) => `${s}:${c}`)
        .join(' ')}; peak RSS ticket ${ticket.peakRssMb().toFixed(0)} MB, social ${social
        .peakRssMb()
        .toFixed(0)} MB, voice ${voice.peakRssMb().toFixed(0)} MB, chat ${chat.peakRssMb().toFixed(0)} MB`,
    );
    if (missing.length) {
      console.log(
        `lost (first 20): ${missing
          .slice(0, 20)
          .map((m) => `${m} ${kinds.get(m)}`)
          .join('; ')}`,
      );
      // Where they might still be: jobs waiting for a retry or failed in BullMQ.
      for (const q of ['inbound', 'social.raw', 'delivery']) {
        const keys = await stack.redis.keys(`${stack.prefix}:${q}:*`);
        const counts: Record<string, number> = {};
        for (const state of ['wait', 'active', 'delayed', 'failed', 'prioritized'])
          counts[state] = keys.includes(`${stack.prefix}:${q}:${state}`)
            ? Number(
                state === 'wait' || state === 'active'
                  ? await stack.redis.llen(`${stack.prefix}:${q}:${state}`)
                  : await stack.redis.zcard(`${stack.prefix}:${q}:${state}`),
              )
            : 0;
        console.log(`queue ${q}: ${JSON.stringify(counts)}`);
      }
    }
    printResult({
      inputs: sent,
      acknowledged: acked.length,
      stored_or_dead_lettered: acked.length - missing.length,
      lost: missing.length,
      http_5xx: http5xx,
      masked_phones: scanner.maskedPhones.size,
      duplicated,
      refused_but_stored: refusedButStored,
      inputs_per_s: sent / sendSeconds,
    });
    if (missing.length || http5xx || duplicated || refusedButStored || scanner.maskedPhones.size) process.exitCode = 1;
  } finally {
    await stack.stopAll();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
