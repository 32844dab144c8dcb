import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { DeadLetterJob, InboundMessage, JobName, QueueName } from '@oq/contracts';
import { BlobStore } from '@oq/platform';
import { registerTelegramWebhook } from '../providers/telegram-webhook';
import { messaging, messengerEvent, telegramUpdate, whatsappMessage, whatsappStatus } from '../testing/fixtures';
import { SocialTestKit, metaInbox, telegramInbox } from '../testing/social-test-kit';
import { signMetaBody } from './signature';

describe('social-service webhooks (real HTTP, real signatures, local Graph/Bot API)', () => {
  const kit = new SocialTestKit();
  let wa: ReturnType<typeof metaInbox>;
  let fb: ReturnType<typeof metaInbox>;
  let ig: ReturnType<typeof metaInbox>;
  let tg: ReturnType<typeof telegramInbox>;

  beforeAll(async () => {
    await kit.start();
    wa = kit.addInbox(metaInbox('whatsapp', kit.accessToken));
    fb = kit.addInbox(metaInbox('messenger', kit.accessToken));
    ig = kit.addInbox(metaInbox('instagram', kit.accessToken));
    tg = kit.addInbox(telegramInbox(kit.botToken));
  });
  afterAll(() => kit.stop());

  const postMeta = (inboxId: string, body: string, signature: string | undefined) =>
    fetch(`${kit.base}/webhooks/meta/${inboxId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(signature ? { 'x-hub-signature-256': signature } : {}) },
      body,
    });
  const signed = (inbox: { id: string; secrets: Record<string, string> }, payload: unknown) => {
    const body = JSON.stringify(payload);
    return postMeta(inbox.id, body, signMetaBody(body, inbox.secrets.appSecret));
  };
  const postTelegram = (inboxId: string, payload: unknown, secret: string | undefined) =>
    fetch(`${kit.base}/webhooks/telegram/${inboxId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}) },
      body: JSON.stringify(payload),
    });
  const inbound = async (externalId: string) =>
    (await kit.jobs(QueueName.Inbound)).map((j) => j.data as InboundMessage).filter((m) => m.externalId === externalId);
  /**
   * Every job on social.raw or inbound (messages, and dead letters by their exact bytes) that carries
   * `marker`: what a delivery the webhook accepted would have left behind.
   */
  const traces = async (marker: string) => {
    const carries = (data: { payloadBase64?: string }) =>
      JSON.stringify(data).includes(marker) ||
      (!!data.payloadBase64 && Buffer.from(data.payloadBase64, 'base64').toString('utf8').includes(marker));
    const jobs = [...(await kit.jobs(QueueName.SocialRaw)), ...(await kit.jobs(QueueName.Inbound))];
    return jobs.filter((j) => carries(j.data)).map((j) => `${j.queueName}/${j.name}`);
  };
  /** Waits until the social.raw worker has finished every job it was given. */
  const rawDone = () => kit.until(async () => (await kit.jobs(QueueName.SocialRaw)).every((j) => j.finishedOn));
  /** Waits for `count` versions of a message on the inbound queue. */
  const arrived = (externalId: string, count = 1) =>
    kit.until(async () => {
      const found = await inbound(externalId);
      return found.length >= count ? found : null;
    });

  describe('Meta verification handshake', () => {
    it('echoes hub.challenge for the inbox verify token, 403 otherwise, 404 for an unknown inbox', async () => {
      const q = (token: string) =>
        `hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=1158201444`;
      const ok = await fetch(`${kit.base}/webhooks/meta/${wa.id}?${q(wa.secrets.verifyToken)}`);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toBe('1158201444');
      const bad = await fetch(`${kit.base}/webhooks/meta/${wa.id}?${q('guess')}`);
      expect(bad.status).toBe(403);
      expect(await bad.text()).not.toContain('1158201444');
      // Another inbox's token does not open this one.
      expect((await fetch(`${kit.base}/webhooks/meta/${wa.id}?${q(fb.secrets.verifyToken)}`)).status).toBe(403);
      expect(
        (
          await fetch(
            `${kit.base}/webhooks/meta/${wa.id}?hub.mode=unsubscribe&hub.verify_token=${wa.secrets.verifyToken}&hub.challenge=1`,
          )
        ).status,
      ).toBe(403);
      expect((await fetch(`${kit.base}/webhooks/meta/7d0f4a5e-0000-4000-8000-000000000000?${q('x')}`)).status).toBe(
        404,
      );
    });
  });

  describe('signature and body checks', () => {
    it('bad signature → 401 and nothing stored; unknown inbox → 404', async () => {
      const payload = whatsappMessage(wa.address, '16315551181', {
        id: 'wamid.badsig',
        type: 'text',
        text: { body: 'hi' },
      });
      const body = JSON.stringify(payload);
      expect((await postMeta(wa.id, body, undefined)).status).toBe(401);
      expect((await postMeta(wa.id, body, signMetaBody(body, 'not-the-app-secret'))).status).toBe(401);
      expect((await postMeta(wa.id, body, signMetaBody(body + ' ', wa.secrets.appSecret))).status).toBe(401);
      // Signed by another inbox's app secret.
      expect((await postMeta(wa.id, body, signMetaBody(body, fb.secrets.appSecret))).status).toBe(401);
      // Unsigned garbage is refused for its signature, before anyone looks at the body.
      const malformed = '{"object":"whatsapp_business_account",';
      expect((await postMeta(wa.id, malformed, undefined)).status).toBe(401);
      expect(
        (await postMeta('1d0f4a5e-0000-4000-8000-000000000000', body, signMetaBody(body, wa.secrets.appSecret))).status,
      ).toBe(404);
      // The webhook queues before it answers: nothing of the refused requests is on a queue…
      expect(await traces('wamid.badsig')).toEqual([]);
      // …and a valid delivery sent after them through the same path arrives and the worker is done with
      // everything it was given: anything the refused ones had started would be on the queues by now.
      const good = whatsappMessage(wa.address, '16315551181', {
        id: 'wamid.goodsig',
        type: 'text',
        text: { body: 'hi' },
      });
      expect((await signed(wa, good)).status).toBe(200);
      await arrived('wamid.goodsig');
      await rawDone();
      expect(await traces('wamid.badsig')).toEqual([]);
      expect(await inbound('wamid.badsig')).toEqual([]);
    });
  });

  it('answers 404 for an inbox whose stored settings or secrets are invalid and lists it on /health', async () => {
    const broken = kit.addInbox({ ...telegramInbox(kit.botToken), settings: { rateLimitPerSecond: 'fast' } });
    expect((await postTelegram(broken.id, { update_id: 1 }, broken.secrets.webhookSecret)).status).toBe(404);
    const health = await fetch(`${kit.base}/health`);
    expect(health.status).toBe(200);
    expect((await health.json()).inboxes.invalid).toEqual([
      {
        id: broken.id,
        channel: 'telegram',
        reason: 'settings.rateLimitPerSecond: Invalid input: expected number, received NaN',
      },
    ]);
    const metrics = await (await fetch(`${kit.base}/metrics`)).text();
    expect(metrics).toMatch(/^oq_inboxes_invalid\{[^}]*channel="telegram"[^}]*\} 1$/m);
    expect(metrics).toMatch(/^oq_inboxes_invalid\{[^}]*channel="whatsapp"[^}]*\} 0$/m);
  });

  describe('signed but unprocessable bodies', () => {
    const deadLetters = async () =>
      (await kit.jobs(QueueName.Inbound))
        .filter((j) => j.name === JobName.DeadLetter)
        .map((j) => j.data as DeadLetterJob);

    it('acknowledges malformed, too deep and non-object JSON and dead-letters the exact bytes with the reason', async () => {
      const malformed = '{"object":"whatsapp_business_account","entry":[{"id":"dl-malformed-\u0000"';
      const deep = `{"object":"page","entry":${'['.repeat(60000)}${']'.repeat(60000)}}`;
      const array = '[{"object":"page"}]';
      for (const body of [malformed, deep, array]) {
        const res = await postMeta(wa.id, body, signMetaBody(body, wa.secrets.appSecret));
        expect(res.status).toBe(200);
        // A redelivery of the same bytes is the same dead letter.
        expect((await postMeta(wa.id, body, signMetaBody(body, wa.secrets.appSecret))).status).toBe(200);
      }
      const tgDeep = `{"update_id":1,"message":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
      const res = await fetch(`${kit.base}/webhooks/telegram/${tg.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': tg.secrets.webhookSecret },
        body: tgDeep,
      });
      expect(res.status).toBe(200);
      const letters = await kit.until(async () => {
        const found = await deadLetters();
        return found.length >= 4 ? found : undefined;
      });
      expect(letters).toHaveLength(4);
      const byBody = new Map(letters.map((l) => [Buffer.from(l.payloadBase64, 'base64').toString('utf8'), l]));
      expect(byBody.get(malformed)?.reason).toMatch(/invalid JSON/);
      expect(byBody.get(deep)?.reason).toMatch(/nested deeper than 64 levels/);
      expect(byBody.get(array)?.reason).toMatch(/not a JSON object/);
      expect(byBody.get(tgDeep)?.reason).toMatch(/signed telegram webhook .* nested deeper/);
      expect(letters.every((l) => l.service === 'social-service' && l.queue === QueueName.SocialRaw)).toBe(true);
    });
  });

  describe('WhatsApp Cloud API', () => {
    it('text message → one InboundMessage with wa_id linked to an E.164 phone, card numbers masked, duplicates harmless', async () => {
      const payload = whatsappMessage(wa.address, '16315551181', {
        id: 'wamid.HBgLMTYzMTU1NTExODEVAgASGBQzQUZDMjcxNkE3MEQ2MUQ0',
        type: 'text',
        text: { body: 'Refund to my card 4111 1111 1111 1111 please' },
      });
      const started = Date.now();
      const res = await signed(wa, payload);
      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(1000);
      expect((await signed(wa, payload)).status).toBe(200); // Meta redelivers the same body
      const [msg, ...more] = await arrived('wamid.HBgLMTYzMTU1NTExODEVAgASGBQzQUZDMjcxNkE3MEQ2MUQ0');
      expect(more).toEqual([]);
      expect(msg).toMatchObject({
        inboxId: wa.id,
        channel: 'whatsapp',
        revision: 0,
        sender: {
          kind: 'whatsapp',
          value: '16315551181',
          displayName: 'Kerry Fisher',
          linked: [{ kind: 'phone', value: '+16315551181' }],
        },
        text: 'Refund to my card •••• •••• •••• 1111 please',
      });
      const raw = await kit.jobs(QueueName.SocialRaw);
      expect(raw.filter((j) => JSON.stringify(j.data).includes('HBgLMTYzMTU1NTExODEV'))).toHaveLength(1);
      // The raw event on Redis is masked too.
      expect(JSON.stringify(raw.map((j) => j.data))).not.toContain('4111 1111 1111 1111');
    });

    it('image message → media fetched through the Graph media endpoint, blob byte-identical', async () => {
      const bytes = Buffer.concat([
        Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
        Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 256)),
      ]);
      const media = kit.graph.addMedia(bytes, 'image/jpeg');
      const payload = whatsappMessage(wa.address, '4915123456789', {
        id: 'wamid.image1',
        type: 'image',
        image: { caption: 'receipt', mime_type: 'image/jpeg', sha256: media.sha256, id: media.id },
      });
      expect((await signed(wa, payload)).status).toBe(200);
      const [msg] = await arrived('wamid.image1');
      expect(msg.text).toBe('receipt');
      expect(msg.sender.linked).toEqual([{ kind: 'phone', value: '+4915123456789' }]);
      expect(msg.attachments).toHaveLength(1);
      const att = msg.attachments[0];
      expect(att).toMatchObject({
        size: bytes.length,
        contentType: 'image/jpeg',
        sha256: createHash('sha256').update(bytes).digest('hex'),
      });
      expect(await readFile(new BlobStore(kit.blobDir).pathOf(att.sha256))).toEqual(bytes);
      const mediaCalls = kit.graph.find((r) => r.method === 'GET' && r.path.endsWith(`/${media.id}`));
      expect(mediaCalls.length).toBeGreaterThanOrEqual(2); // metadata, then the download
      expect(mediaCalls.every((r) => r.headers.authorization === `Bearer ${kit.accessToken}`)).toBe(true);
    });

    it('location, contacts and interactive replies become readable messages', async () => {
      await signed(
        wa,
        whatsappMessage(wa.address, '16315551181', {
          id: 'wamid.loc',
          type: 'location',
          location: {
            latitude: 37.483307,
            longitude: 122.148981,
            name: 'Pablo Morales',
            address: '1 Hacker Way, Menlo Park, CA 94025',
          },
        }),
      );
      await signed(
        wa,
        whatsappMessage(wa.address, '16315551181', {
          id: 'wamid.contacts',
          type: 'contacts',
          contacts: [
            {
              name: { formatted_name: 'Barbara Johnson', first_name: 'Barbara' },
              phones: [{ phone: '+1 (940) 555-1234', type: 'HOME', wa_id: '19405551234' }],
            },
          ],
        }),
      );
      await signed(
        wa,
        whatsappMessage(wa.address, '16315551181', {
          id: 'wamid.button',
          type: 'interactive',
          interactive: { type: 'button_reply', button_reply: { id: 'refund-status', title: 'Refund status' } },
        }),
      );
      const get = async (id: string) => (await arrived(id))[0];
      expect((await get('wamid.loc')).text).toContain('1 Hacker Way');
      expect((await get('wamid.loc')).metadata.location).toMatchObject({ latitude: 37.483307 });
      expect((await get('wamid.contacts')).text).toContain('Barbara Johnson, +1 (940) 555-1234');
      expect(await get('wamid.button')).toMatchObject({
        text: 'Refund status',
        metadata: { interactive: { id: 'refund-status' } },
      });
    });

    it('statuses → DeliveryReports, failed ones with the error code and title', async () => {
      await signed(wa, whatsappStatus(wa.address, '16315551181', 'wamid.out1', 'delivered'));
      await signed(
        wa,
        whatsappStatus(wa.address, '16315551181', 'wamid.out2', 'failed', [
          {
            code: 131026,
            title: 'Message undeliverable',
            message: 'Message undeliverable',
            error_data: { details: 'Recipient is not a WhatsApp user' },
          },
        ]),
      );
      const delivered = await kit.until(async () => (await kit.reports({ providerMessageId: 'wamid.out1' }))[0]);
      expect(delivered).toMatchObject({ status: 'delivered' });
      const failed = await kit.until(async () => (await kit.reports({ providerMessageId: 'wamid.out2' }))[0]);
      expect(failed).toMatchObject({
        status: 'failed',
        errorCode: '131026',
        reason: 'Message undeliverable: Recipient is not a WhatsApp user',
      });
    });
  });

  describe('Messenger and Instagram', () => {
    it('text, quick reply and attachment → messages; echoes ignored; deliveries and Instagram reads → reports', async () => {
      const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
      const url = kit.graph.addCdnFile('screenshot.png', png, 'image/png');
      const psid = '6612345678901234';
      await signed(
        fb,
        messengerEvent('page', fb.address, [
          messaging(psid, fb.address, {
            message: { mid: 'm_text1', text: 'My transfer failed', quick_reply: { payload: 'TOPIC_TRANSFER' } },
          }),
          messaging(psid, fb.address, {
            message: { mid: 'm_att1', attachments: [{ type: 'image', payload: { url } }] },
          }),
          messaging(psid, fb.address, { message: { mid: 'm_echo', is_echo: true, text: 'our reply' } }, true),
          messaging(psid, fb.address, { delivery: { mids: ['m_sent1'], watermark: Date.now() } }),
        ]),
      );
      const text = (await arrived('m_text1'))[0];
      expect(text).toMatchObject({
        channel: 'messenger',
        sender: { kind: 'messenger', value: psid },
        text: 'My transfer failed',
        metadata: { quickReplyPayload: 'TOPIC_TRANSFER' },
      });
      const att = (await arrived('m_att1'))[0];
      expect(att.attachments[0]).toMatchObject({ filename: 'screenshot.png', size: png.length });
      expect(await readFile(new BlobStore(kit.blobDir).pathOf(att.attachments[0].sha256))).toEqual(png);
      expect(await inbound('m_echo')).toEqual([]);
      expect(await kit.until(async () => (await kit.reports({ providerMessageId: 'm_sent1' }))[0])).toMatchObject({
        status: 'delivered',
      });

      const igsid = '17841400000000001';
      await signed(
        ig,
        messengerEvent('instagram', ig.address, [
          messaging(igsid, ig.address, {
            message: { mid: 'aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx', text: 'hello from instagram' },
          }),
          messaging(igsid, ig.address, { read: { mid: 'ig_sent_1' } }),
        ]),
      );
      const igMsg = (await arrived('aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx'))[0];
      expect(igMsg).toMatchObject({ channel: 'instagram', sender: { kind: 'instagram', value: igsid } });
      expect(await kit.until(async () => (await kit.reports({ providerMessageId: 'ig_sent_1' }))[0])).toMatchObject({
        status: 'read',
      });
    });

    it('an attachment URL on an internal address is not fetched: the message arrives naming the missing file', async () => {
      const seen: string[] = [];
      const internal = createServer((req, res) => {
        seen.push(req.url!);
        res.end('internal admin page');
      });
      await new Promise<void>((r) => internal.listen(0, '127.0.0.1', r));
      const port = (internal.address() as AddressInfo).port;
      try {
        const psid = '6612345678907777';
        const urls = [
          `http://127.0.0.1:${port}/admin/export.png?signature=s3cret`,
          `http://localhost:${port}/x.png`,
          'http://169.254.169.254/latest/meta-data/iam/security-credentials/role.png',
        ];
        await signed(
          fb,
          messengerEvent(
            'page',
            fb.address,
            urls.map((url, i) =>
              messaging(psid, fb.address, {
                message: { mid: `m_ssrf${i}`, attachments: [{ type: 'image', payload: { url } }] },
              }),
            ),
          ),
        );
        for (let i = 0; i < urls.length; i++) {
          const [msg] = await arrived(`m_ssrf${i}`);
          expect(msg.attachments).toEqual([]);
          const missing = msg.metadata.missingMedia as { filename: string; reason: string }[];
          expect(missing).toEqual([
            { filename: expect.any(String), reason: expect.stringMatching(/^blocked_address: /) },
          ]);
          expect(missing[0].reason).not.toContain('s3cret');
        }
        expect(seen).toEqual([]);
      } finally {
        internal.closeAllConnections();
        await new Promise((r) => internal.close(r));
      }
    });

    it("an inbox's mediaHosts refuses media from any other host, the Graph API's download URL included", async () => {
      const strictFb = kit.addInbox({
        ...metaInbox('messenger', kit.accessToken),
        settings: { mediaHosts: ['*.fbcdn.net'] },
      });
      const strictWa = kit.addInbox({
        ...metaInbox('whatsapp', kit.accessToken),
        settings: { mediaHosts: ['*.fbcdn.net'] },
      });
      const png = Buffer.from('89504e470d0a1a0a0000000d4948445200', 'hex');
      const url = kit.graph.addCdnFile('not-from-the-cdn.png', png, 'image/png');
      await signed(
        strictFb,
        messengerEvent('page', strictFb.address, [
          messaging('6612345678908888', strictFb.address, {
            message: { mid: 'm_hosts1', attachments: [{ type: 'image', payload: { url } }] },
          }),
        ]),
      );
      const media = kit.graph.addMedia(png, 'image/png');
      await signed(
        strictWa,
        whatsappMessage(strictWa.address, '16315559999', {
          id: 'wamid.hosts1',
          type: 'image',
          image: { mime_type: 'image/png', sha256: media.sha256, id: media.id },
        }),
      );
      for (const id of ['m_hosts1', 'wamid.hosts1']) {
        const [msg] = await arrived(id);
        expect(msg.attachments).toEqual([]);
        expect(msg.metadata.missingMedia).toEqual([
          { filename: expect.any(String), reason: expect.stringMatching(/^host_not_allowed: /) },
        ]);
      }
      expect(kit.graph.find((r) => r.path === '/cdn/not-from-the-cdn.png')).toEqual([]);
      // The media lookup is configuration (the Graph API itself) and happens; the URL it answers is refused.
      expect(kit.graph.find((r) => r.path.endsWith(`/${media.id}`)).map((r) => r.path)).toEqual([
        `/${kit.graph.version}/${media.id}`,
      ]);
    });

    it('watermark-only reads and deliveries → DeliveryWatermarks for the conversation; duplicates once', async () => {
      const psid = '6612345678905555';
      // Messenger reads name no message: "all messages sent before or at this timestamp were read"
      // (example values from the message_reads / message_deliveries webhook reference).
      const receipts = messengerEvent('page', fb.address, [
        messaging(psid, fb.address, { read: { watermark: 1458668856253 } }),
        messaging(psid, fb.address, { delivery: { watermark: 1458668856000 } }),
      ]);
      receipts.entry[0].messaging.forEach((m) => (m.timestamp = 1458668856463));
      expect((await signed(fb, receipts)).status).toBe(200);
      expect((await signed(fb, receipts)).status).toBe(200);
      const mine = async () =>
        (await kit.jobs(QueueName.Delivery)).filter(
          (j) => j.name === JobName.DeliveryWatermark && j.data.to?.value === psid,
        );
      // A watermark no clock can hold is ignored, not a raw job failing over and over.
      const garbage = messengerEvent('page', fb.address, [
        messaging('6612345678906666', fb.address, { read: { watermark: 1e20 } }),
      ]);
      expect((await signed(fb, garbage)).status).toBe(200);
      await kit.until(async () => (await mine()).length >= 2);
      await kit.until(async () => (await kit.jobs(QueueName.SocialRaw)).every((j) => j.finishedOn));
      expect((await kit.queue(QueueName.SocialRaw).getFailed()).map((j) => j.failedReason)).toEqual([]);
      expect((await kit.jobs(QueueName.Delivery)).filter((j) => j.data.to?.value === '6612345678906666')).toEqual([]);
      const jobs = await mine();
      expect(jobs).toHaveLength(2);
      const at = '2016-03-22T17:47:36.463Z';
      expect(jobs.map((j) => j.data).sort((a, b) => a.status.localeCompare(b.status))).toEqual([
        {
          v: 1,
          inboxId: fb.id,
          to: { kind: 'messenger', value: psid },
          status: 'delivered',
          watermark: '2016-03-22T17:47:36.000Z',
          occurredAt: at,
        },
        {
          v: 1,
          inboxId: fb.id,
          to: { kind: 'messenger', value: psid },
          status: 'read',
          watermark: '2016-03-22T17:47:36.253Z',
          occurredAt: at,
        },
      ]);
    });
  });

  describe('Telegram', () => {
    it('checks the secret token header', async () => {
      const update = telegramUpdate(900001, 'message', { message_id: 1, text: 'hi' });
      expect((await postTelegram(tg.id, update, undefined)).status).toBe(401);
      expect((await postTelegram(tg.id, update, 'wrong')).status).toBe(401);
      expect((await postTelegram(wa.id, update, tg.secrets.webhookSecret)).status).toBe(404);
      expect(await traces('"update_id":900001')).toEqual([]);
      // The same update with the right secret, as Telegram sends it next, is queued and arrives; once the
      // worker is done with everything it was given, the refused ones have left no trace.
      const retried = telegramUpdate(900002, 'message', { message_id: 2, text: 'hi' });
      expect((await postTelegram(tg.id, retried, tg.secrets.webhookSecret)).status).toBe(200);
      await arrived('1111111:2');
      await rawDone();
      expect(await traces('"update_id":900001')).toEqual([]);
      expect(await inbound('1111111:1')).toEqual([]);
    });

    it('message then edited_message → same externalId, revision = edit_date; photo, document, voice downloaded; location', async () => {
      expect(
        (
          await postTelegram(
            tg.id,
            telegramUpdate(900010, 'message', { message_id: 1365, text: 'My card was charged twice' }),
            tg.secrets.webhookSecret,
          )
        ).status,
      ).toBe(200);
      const editDate = Math.floor(Date.now() / 1000);
      await postTelegram(
        tg.id,
        telegramUpdate(900011, 'edited_message', {
          message_id: 1365,
          edit_date: editDate,
          text: 'My card was charged three times',
        }),
        tg.secrets.webhookSecret,
      );
      const versions = await arrived('1111111:1365', 2);
      expect(versions.map((v) => [v.revision, v.text]).sort()).toEqual([
        [0, 'My card was charged twice'],
        [editDate, 'My card was charged three times'],
      ]);
      expect(versions[0].sender).toMatchObject({
        kind: 'telegram',
        value: '1111111',
        displayName: 'Test Firstname Test Lastname',
      });

      const photo = Buffer.from('photo-bytes-' + 'x'.repeat(3000));
      const doc = Buffer.from('%PDF-1.4 statement');
      const voice = Buffer.from('OggS voice note');
      const photoId = kit.telegram.addFile(photo, 'photos/file_1.jpg', 'image/jpeg');
      const docId = kit.telegram.addFile(doc, 'documents/file_2.pdf', 'application/pdf');
      const voiceId = kit.telegram.addFile(voice, 'voice/file_3.oga', 'audio/ogg');
      await postTelegram(
        tg.id,
        telegramUpdate(900012, 'message', {
          message_id: 1366,
          caption: 'receipt',
          photo: [
            { file_id: 'small', file_unique_id: 's', width: 90, height: 90 },
            { file_id: photoId, file_unique_id: 'AQADbig', width: 1280, height: 960 },
          ],
        }),
        tg.secrets.webhookSecret,
      );
      await postTelegram(
        tg.id,
        telegramUpdate(900013, 'message', {
          message_id: 1367,
          document: { file_id: docId, file_unique_id: 'd', file_name: 'statement.pdf', mime_type: 'application/pdf' },
        }),
        tg.secrets.webhookSecret,
      );
      await postTelegram(
        tg.id,
        telegramUpdate(900014, 'message', {
          message_id: 1368,
          voice: { file_id: voiceId, file_unique_id: 'v', duration: 3, mime_type: 'audio/ogg' },
        }),
        tg.secrets.webhookSecret,
      );
      await postTelegram(
        tg.id,
        telegramUpdate(900015, 'message', { message_id: 1369, location: { latitude: 52.52, longitude: 13.405 } }),
        tg.secrets.webhookSecret,
      );
      const one = async (id: string) => (await arrived(id))[0];
      const store = new BlobStore(kit.blobDir);
      const p = await one('1111111:1366');
      expect(p.text).toBe('receipt');
      expect(await readFile(store.pathOf(p.attachments[0].sha256))).toEqual(photo);
      const d = await one('1111111:1367');
      expect(d.attachments[0]).toMatchObject({ filename: 'statement.pdf', contentType: 'application/pdf' });
      expect(await readFile(store.pathOf(d.attachments[0].sha256))).toEqual(doc);
      const v = await one('1111111:1368');
      expect(await readFile(store.pathOf(v.attachments[0].sha256))).toEqual(voice);
      expect(v.metadata.voice).toBe(true);
      expect((await one('1111111:1369')).text).toContain('52.52,13.405');
      expect(kit.telegram.calls('getFile').map((c) => (c.json as { file_id: string }).file_id)).toEqual(
        expect.arrayContaining([photoId, docId, voiceId]),
      );
    });

    it('registers the webhook with setWebhook and the inbox secret', async () => {
      const url = await registerTelegramWebhook({
        apiBase: kit.telegram.baseUrl,
        botToken: kit.botToken,
        publicBaseUrl: 'https://support.example.com/',
        inboxId: tg.id,
        secretToken: tg.secrets.webhookSecret,
      });
      expect(url).toBe(`https://support.example.com/webhooks/telegram/${tg.id}`);
      expect(kit.telegram.webhook).toEqual({
        url,
        secret_token: tg.secrets.webhookSecret,
        allowed_updates: ['message', 'edited_message'],
      });
      await expect(
        registerTelegramWebhook({
          apiBase: kit.telegram.baseUrl,
          botToken: '1:wrong',
          publicBaseUrl: 'https://x',
          inboxId: tg.id,
          secretToken: 's',
        }),
      ).rejects.toThrow(/setWebhook refused: Unauthorized/);
    });
  });
});
