import { randomUUID } from 'node:crypto';
import { JobName, QueueName } from '@oq/contracts';
import { BlobStore } from '@oq/platform';
import { MetaGraphServer } from '../../../../test/support/meta-graph-server';
import { whatsappStatus } from '../testing/fixtures';
import { OutboundMessageInput, SocialTestKit, metaInbox, telegramInbox } from '../testing/social-test-kit';
import { signMetaBody } from '../webhooks/signature';

const HOUR = 3600_000;

describe('social-service outbound worker (local Graph and Bot API)', () => {
  const kit = new SocialTestKit();
  let wa: ReturnType<typeof metaInbox>;
  let fb: ReturnType<typeof metaInbox>;
  let tg: ReturnType<typeof telegramInbox>;
  let blobs: BlobStore;

  beforeAll(async () => {
    await kit.start();
    wa = kit.addInbox(metaInbox('whatsapp', kit.accessToken));
    fb = kit.addInbox(metaInbox('messenger', kit.accessToken));
    tg = kit.addInbox(telegramInbox(kit.botToken));
    blobs = new BlobStore(kit.blobDir);
  });
  afterAll(() => kit.stop());

  const reply = (
    inbox: { id: string; channel: string },
    over: Partial<OutboundMessageInput> = {},
  ): OutboundMessageInput => ({
    v: 1,
    messageId: randomUUID(),
    ticketId: randomUUID(),
    ticketNumber: 10234,
    inboxId: inbox.id,
    channel: inbox.channel as OutboundMessageInput['channel'],
    to:
      inbox.channel === 'whatsapp'
        ? { kind: 'whatsapp', value: '16315551181' }
        : inbox.channel === 'telegram'
          ? { kind: 'telegram', value: '1111111' }
          : { kind: 'messenger', value: '6612345678901234' },
    text: 'Your refund of €42.00 was sent today.',
    conversation: { lastInboundAt: new Date(Date.now() - HOUR).toISOString() },
    createdAt: new Date().toISOString(),
    ...over,
  });
  const reportFor = (messageId: string) => kit.until(async () => (await kit.reports({ messageId }))[0]);
  const sendsTo = (inboxAddress: string) => kit.graph.sends().filter((r) => r.path.includes(`/${inboxAddress}/`));

  it('WhatsApp reply inside the window → Cloud API text message; a status that overtakes the send response and one after it', async () => {
    const msg = reply(wa);
    const wamid = `wamid.${randomUUID()}`;
    const isThisSend = (r: { path: string; json?: unknown }) =>
      r.path.endsWith(`/${wa.address}/messages`) && JSON.stringify(r.json ?? {}).includes(msg.text);
    kit.graph.script(isThisSend, {
      status: 200,
      body: {
        messaging_product: 'whatsapp',
        contacts: [{ input: '16315551181', wa_id: '16315551181' }],
        messages: [{ id: wamid }],
      },
    });
    // Meta's "sent" status webhook arrives before our POST has its response.
    kit.graph.hold(isThisSend, async () => {
      const body = JSON.stringify(whatsappStatus(wa.address, '16315551181', wamid, 'sent'));
      const res = await fetch(`${kit.base}/webhooks/meta/${wa.id}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-hub-signature-256': signMetaBody(body, wa.secrets.appSecret),
        },
        body,
      });
      expect(res.status).toBe(200);
      await kit.until(async () => (await kit.reports({ providerMessageId: wamid })).length > 0);
    });
    await kit.enqueueReply(msg);
    const sent = await reportFor(msg.messageId);
    expect(sent).toMatchObject({ status: 'sent', providerMessageId: wamid, inboxId: wa.id });

    const request = kit.graph.find(isThisSend)[0];
    expect(request.headers.authorization).toBe(`Bearer ${kit.accessToken}`);
    expect(request.path).toBe(`/v21.0/${wa.address}/messages`);
    expect(request.json).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '16315551181',
      type: 'text',
      text: { preview_url: false, body: msg.text },
    });

    // Then "delivered" after the send response.
    const body = JSON.stringify(whatsappStatus(wa.address, '16315551181', wamid, 'delivered'));
    await fetch(`${kit.base}/webhooks/meta/${wa.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(body, wa.secrets.appSecret) },
      body,
    });
    const byProvider = await kit.until(async () => {
      const r = await kit.reports({ providerMessageId: wamid });
      return r.length === 3 ? r : null;
    });
    expect(byProvider.map((r) => r.status).sort()).toEqual(['delivered', 'sent', 'sent']);
    // The early webhook report was queued before the send result.
    const jobs = (await kit.jobs(QueueName.Delivery)).filter(
      (j) => (j.data as { providerMessageId?: string }).providerMessageId === wamid,
    );
    const early = jobs.find((j) => !j.data.messageId && j.data.status === 'sent')!;
    const result = jobs.find((j) => j.data.messageId === msg.messageId)!;
    expect(early.timestamp).toBeLessThanOrEqual(result.timestamp);
  });

  it('WhatsApp reply outside the 24-hour window: refused with a clear reason unless it is a template', async () => {
    const late = { lastInboundAt: new Date(Date.now() - 30 * HOUR).toISOString() };
    const before = sendsTo(wa.address).length;
    const refused = reply(wa, { conversation: late });
    await kit.enqueueReply(refused);
    expect(await reportFor(refused.messageId)).toMatchObject({
      status: 'failed',
      errorCode: 'outside_24h_window',
      reason: expect.stringMatching(/last wrote 30 hours ago.*only an approved message template/),
    });
    expect(sendsTo(wa.address).length).toBe(before);

    const template = reply(wa, {
      conversation: late,
      text: '',
      template: { name: 'refund_update', language: 'en_US', parameters: ['€42.00', 'Nov 25'] },
    });
    await kit.enqueueReply(template);
    expect(await reportFor(template.messageId)).toMatchObject({
      status: 'sent',
      providerMessageId: expect.stringMatching(/^wamid\./),
    });
    expect(sendsTo(wa.address).at(-1)!.json).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '16315551181',
      type: 'template',
      template: {
        name: 'refund_update',
        language: { code: 'en_US' },
        components: [
          {
            type: 'body',
            parameters: [
              { type: 'text', text: '€42.00' },
              { type: 'text', text: 'Nov 25' },
            ],
          },
        ],
      },
    });
  });

  it('Messenger: outside the window needs a tag; HUMAN_AGENT goes out as MESSAGE_TAG; over 2000 characters is refused', async () => {
    const late = { lastInboundAt: new Date(Date.now() - 50 * HOUR).toISOString() };
    const untagged = reply(fb, { conversation: late });
    const tagged = reply(fb, { conversation: late, messageTag: 'HUMAN_AGENT' });
    const long = reply(fb, { text: 'x'.repeat(2001) });
    for (const m of [untagged, tagged, long]) await kit.enqueueReply(m);
    expect(await reportFor(untagged.messageId)).toMatchObject({ status: 'failed', errorCode: 'outside_24h_window' });
    expect(await reportFor(long.messageId)).toMatchObject({
      status: 'failed',
      errorCode: 'text_too_long',
      reason: expect.stringContaining('at most 2000 characters per message; this reply has 2001'),
    });
    expect(await reportFor(tagged.messageId)).toMatchObject({
      status: 'sent',
      providerMessageId: expect.stringMatching(/^m_/),
    });
    expect(sendsTo(fb.address)).toHaveLength(1);
    expect(sendsTo(fb.address)[0].json).toEqual({
      recipient: { id: '6612345678901234' },
      messaging_type: 'MESSAGE_TAG',
      tag: 'HUMAN_AGENT',
      message: { text: tagged.text },
    });
  });

  it('429 with Retry-After → that inbox waits, no attempt spent, then success; other inboxes keep sending', async () => {
    const msg = reply(wa, { text: 'after the throttle' });
    const isThis = (r: { json?: unknown }) => JSON.stringify(r.json ?? {}).includes('after the throttle');
    kit.graph.script(isThis, {
      ...MetaGraphServer.graphError(429, 130429, '(#130429) Rate limit hit'),
      headers: { 'retry-after': '1' },
    });
    const job = await kit.enqueueReply(msg);
    await kit.until(async () => kit.graph.find(isThis).length === 1);
    const other = reply(tg, { text: 'telegram is not throttled' });
    await kit.enqueueReply(other);
    expect(await reportFor(other.messageId)).toMatchObject({ status: 'sent' });
    const sent = await reportFor(msg.messageId);
    expect(sent.status).toBe('sent');
    const calls = kit.graph.find(isThis);
    expect(calls).toHaveLength(2);
    expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(1000);
    // The Telegram reply went out while WhatsApp waited.
    expect(kit.telegram.calls('sendMessage').at(-1)!.at).toBeLessThan(calls[1].at);
    const done = (await kit.queue(QueueName.OutboundSocial).getJob(job.id!))!;
    expect(await done.getState()).toBe('completed');
    expect(done.attemptsMade).toBe(1); // the completing run only: the 429 cost nothing
    expect(await kit.reports({ messageId: msg.messageId })).toHaveLength(1);
  });

  it('5xx is retried with backoff and the next reply of the conversation waits for it; a permanent error fails with the platform code', async () => {
    const first = reply(wa, { text: 'first of two', createdAt: new Date(Date.now() - 10).toISOString() });
    const second = reply(wa, { text: 'second of two' });
    kit.graph.script(
      (r) => JSON.stringify(r.json ?? {}).includes('first of two'),
      MetaGraphServer.graphError(503, 2, 'Service temporarily unavailable', { is_transient: true }),
    );
    await kit.enqueueReply(first);
    await kit.until(
      async () => kit.graph.find((r) => JSON.stringify(r.json ?? {}).includes('first of two')).length === 1,
    );
    // While it waits for the retry, ticket-service hears why and when the next try is due.
    const notice = await kit.until(async () =>
      (await kit.jobs(QueueName.Delivery)).find(
        (j) => j.name === JobName.DeliveryRetry && j.data.messageId === first.messageId,
      ),
    );
    expect(notice.data).toMatchObject({
      inboxId: wa.id,
      attempts: 1,
      lastError: expect.stringContaining('Service temporarily unavailable'),
    });
    expect(Date.parse(notice.data.nextAttemptAt)).toBeGreaterThan(Date.parse(notice.data.occurredAt));
    await kit.enqueueReply(second);
    await reportFor(second.messageId);
    expect(await reportFor(first.messageId)).toMatchObject({ status: 'sent' });
    const texts = sendsTo(wa.address)
      .map((r) => (r.json as { text?: { body: string } }).text?.body)
      .filter((t) => t === 'first of two' || t === 'second of two');
    expect(texts).toEqual(['first of two', 'first of two', 'second of two']);

    const refused = reply(wa, { text: 'will be refused' });
    kit.graph.script(
      (r) => JSON.stringify(r.json ?? {}).includes('will be refused'),
      MetaGraphServer.graphError(400, 131047, 'Re-engagement message', {
        error_data: {
          details:
            'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
        },
      }),
    );
    const job = await kit.enqueueReply(refused);
    expect(await reportFor(refused.messageId)).toMatchObject({
      status: 'failed',
      errorCode: '131047',
      reason: expect.stringContaining('Re-engagement message — Message failed to send because more than 24 hours'),
    });
    await kit.until(async () =>
      (await kit.queue(QueueName.OutboundSocial).getJob(job.id!))!.getState().then((s) => s === 'failed'),
    );
    expect(kit.graph.find((r) => JSON.stringify(r.json ?? {}).includes('will be refused'))).toHaveLength(1);
  });

  it('attachments: WhatsApp uploads then sends a document; Telegram sends the file with sendDocument/sendPhoto', async () => {
    const pdf = Buffer.from('%PDF-1.7 refund confirmation');
    const stored = await blobs.put(pdf);
    const attachment = {
      sha256: stored.sha256,
      size: stored.size,
      filename: 'refund.pdf',
      contentType: 'application/pdf',
    };
    const waMsg = reply(wa, { text: '', attachments: [attachment] });
    await kit.enqueueReply(waMsg);
    expect(await reportFor(waMsg.messageId)).toMatchObject({ status: 'sent' });
    const upload = kit.graph.find((r) => r.path === `/v21.0/${wa.address}/media`).at(-1)!;
    const file = upload.form!.file as { filename: string; bytes: Buffer; type: string };
    expect(file.bytes).toEqual(pdf);
    expect(file.filename).toBe('refund.pdf');
    const send = sendsTo(wa.address).at(-1)!.json as { type: string; document: { id: string; filename: string } };
    expect(send.type).toBe('document');
    expect(send.document).toEqual({ id: expect.stringMatching(/^2\d{15}$/), filename: 'refund.pdf' });

    const png = await blobs.put(Buffer.from('89504e470d0a1a0a', 'hex'));
    const tgMsg = reply(tg, {
      text: 'Here is your statement',
      attachments: [attachment, { sha256: png.sha256, size: png.size, filename: 'shot.png', contentType: 'image/png' }],
    });
    await kit.enqueueReply(tgMsg);
    const sent = await reportFor(tgMsg.messageId);
    expect(sent).toMatchObject({ status: 'sent', providerMessageId: expect.stringMatching(/^1111111:\d+$/) });
    const doc = kit.telegram.calls('sendDocument').at(-1)!;
    expect((doc.form!.document as { bytes: Buffer }).bytes).toEqual(pdf);
    expect(doc.form!.chat_id).toBe('1111111');
    expect(kit.telegram.calls('sendPhoto')).toHaveLength(1);
  });

  it('a per-inbox provider URL is used only by an inbox flagged demo: every other inbox keeps the configured Graph API', async () => {
    const demoGraph = new MetaGraphServer('v21.0', new Set([kit.accessToken]));
    await demoGraph.start();
    try {
      const settings = { providerBaseUrl: demoGraph.baseUrl };
      const demo = kit.addInbox({ ...metaInbox('messenger', kit.accessToken), settings, demo: true });
      const real = kit.addInbox({ ...metaInbox('messenger', kit.accessToken), settings });
      const toDemo = reply(demo, { text: 'demo inbox reply' });
      const toReal = reply(real, { text: 'real inbox reply' });
      await kit.enqueueReply(toDemo);
      await kit.enqueueReply(toReal);
      expect(await reportFor(toDemo.messageId)).toMatchObject({ status: 'sent' });
      expect(await reportFor(toReal.messageId)).toMatchObject({ status: 'sent' });
      const texts = (sends: { json?: unknown }[]) => sends.map((r) => JSON.stringify(r.json ?? {}));
      expect(texts(demoGraph.sends().filter((r) => r.path === `/v21.0/${demo.address}/messages`))).toEqual([
        expect.stringContaining('demo inbox reply'),
      ]);
      expect(texts(sendsTo(real.address))).toEqual([expect.stringContaining('real inbox reply')]);
      expect(texts(demoGraph.sends()).some((t) => t.includes('real inbox reply'))).toBe(false);
      expect(texts(sendsTo(demo.address))).toEqual([]);
    } finally {
      await demoGraph.stop();
    }
  });
});
