import { QueueName, outboundJobId } from '@oq/contracts';
import { ApiHarness, waitForJob } from '../tickets/api-test-harness';

/**
 * Replies on Meta channels over HTTP: WhatsApp templates and Messenger/Instagram
 * message tags are validated, stored and carried into the outbound job; what the
 * platform would refuse (24-hour window, wrong channel, length) is a 422 with the
 * reason before anything is stored.
 */
describe('replies on WhatsApp, Messenger and Instagram (templates, tags, 24-hour window)', () => {
  const h = new ApiHarness();
  const HOUR = 3600_000;
  beforeAll(async () => {
    await h.start();
    for (const [channel, address] of [
      ['messenger', '101000000000001'],
      ['instagram', '17841400000000009'],
    ]) {
      const [inbox] = await h.ds.query(
        `INSERT INTO inboxes (name, channel, address, default_team_id) VALUES ($1, $2, $3, $4) RETURNING id`,
        [`${channel} inbox`, channel, address, h.ids.teamA],
      );
      h.ids[`inbox_${channel}`] = inbox.id;
    }
  }, 30_000);
  afterAll(() => h.stop());

  /** A ticket on the channel whose customer last wrote `hoursAgo` hours ago on it. */
  async function ticketOn(channel: 'whatsapp' | 'messenger' | 'instagram', hoursAgo: number) {
    const value =
      channel === 'whatsapp' ? `49151${Date.now() % 1e7}` : `66${Date.now()}${Math.floor(Math.random() * 1e4)}`;
    const t = await h.createTicket('alice', {
      requester: { kind: channel, value },
      channel,
      message: { text: 'Where is my refund?' },
    });
    await h.ds.query(`UPDATE conversations SET last_inbound_at = $2 WHERE ticket_id = $1`, [
      t.id,
      new Date(Date.now() - hoursAgo * HOUR),
    ]);
    return t as { id: string };
  }
  const reply = (ticketId: string, body: Record<string, unknown>) =>
    h.call('alice', 'POST', `/v1/tickets/${ticketId}/messages`, body);
  const outboundCount = async (ticketId: string) =>
    (
      await h.ds.query(`SELECT count(*)::int AS n FROM messages WHERE ticket_id = $1 AND direction = 'outbound'`, [
        ticketId,
      ])
    )[0].n;

  it('WhatsApp outside the window: text is a 422 with the reason and nothing stored; a template goes out', async () => {
    const t = await ticketOn('whatsapp', 30);
    const text = await reply(t.id, { text: 'Any news?' });
    expect(text.status).toBe(422);
    expect(text.body).toMatchObject({
      reason: 'outside_24h_window',
      message: expect.stringMatching(/last wrote 30 hours ago.*only an approved message template/),
    });
    expect(await outboundCount(t.id)).toBe(0);

    const sent = await reply(t.id, {
      template: { name: 'refund_update', language: 'en_US', parameters: ['€42.00', 'card ending 1111'] },
    });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({
      channel: 'whatsapp',
      deliveryStatus: 'queued',
      text: 'WhatsApp template refund_update (en_US): €42.00 | card ending 1111',
    });
    const [row] = await h.ds.query(`SELECT metadata FROM messages WHERE id = $1`, [sent.body.id]);
    expect(row.metadata.template).toEqual({
      name: 'refund_update',
      language: 'en_US',
      parameters: ['€42.00', 'card ending 1111'],
    });
    const job = await waitForJob(h, QueueName.OutboundSocial, outboundJobId(sent.body.id, 0));
    expect(job.data).toMatchObject({
      channel: 'whatsapp',
      template: { name: 'refund_update', language: 'en_US', parameters: ['€42.00', 'card ending 1111'] },
      conversation: { lastInboundAt: expect.any(String) },
    });
    expect(job.data.messageTag).toBeUndefined();
  });

  it('Messenger outside the window needs a tag; HUMAN_AGENT only within 7 days; the tag rides in the job', async () => {
    const t = await ticketOn('messenger', 50);
    const untagged = await reply(t.id, { text: 'Following up' });
    expect(untagged.status).toBe(422);
    expect(untagged.body.reason).toBe('outside_24h_window');
    expect(untagged.body.message).toMatch(/message tag is required \(HUMAN_AGENT, ACCOUNT_UPDATE/);

    const tagged = await reply(t.id, { text: 'Following up', messageTag: 'HUMAN_AGENT' });
    expect(tagged.status).toBe(201);
    const job = await waitForJob(h, QueueName.OutboundSocial, outboundJobId(tagged.body.id, 0));
    expect(job.data).toMatchObject({ channel: 'messenger', messageTag: 'HUMAN_AGENT', text: 'Following up' });
    const [row] = await h.ds.query(`SELECT metadata FROM messages WHERE id = $1`, [tagged.body.id]);
    expect(row.metadata.messageTag).toBe('HUMAN_AGENT');

    const old = await ticketOn('messenger', 8 * 24);
    const tooLate = await reply(old.id, { text: 'Still there?', messageTag: 'HUMAN_AGENT' });
    expect(tooLate.status).toBe(422);
    expect(tooLate.body.reason).toBe('outside_tag_window');
    expect((await reply(old.id, { text: 'Your card was replaced', messageTag: 'ACCOUNT_UPDATE' })).status).toBe(201);

    const ig = await ticketOn('instagram', 30);
    const igTag = await reply(ig.id, { text: 'Your card was replaced', messageTag: 'ACCOUNT_UPDATE' });
    expect(igTag.status).toBe(422);
    expect(igTag.body).toMatchObject({
      reason: 'invalid_message_tag',
      message: 'Instagram does not accept the message tag ACCOUNT_UPDATE (allowed: HUMAN_AGENT).',
    });
    expect((await reply(ig.id, { text: 'We are on it', messageTag: 'HUMAN_AGENT' })).status).toBe(201);
  });

  it('a template only on WhatsApp, a tag only on Messenger/Instagram; length limits; bad shapes are 400', async () => {
    const wa = await ticketOn('whatsapp', 1);
    const fb = await ticketOn('messenger', 1);
    const onFb = await reply(fb.id, { template: { name: 'refund_update', language: 'en' } });
    expect(onFb.status).toBe(422);
    expect(onFb.body).toMatchObject({
      reason: 'template_not_supported',
      message: "Message templates are WhatsApp's and cannot be used on Messenger.",
    });
    const onWa = await reply(wa.id, { text: 'hi', messageTag: 'HUMAN_AGENT' });
    expect(onWa.status).toBe(422);
    expect(onWa.body.reason).toBe('message_tag_not_supported');
    const long = await reply(fb.id, { text: 'x'.repeat(2001) });
    expect(long.status).toBe(422);
    expect(long.body.reason).toBe('text_too_long');
    expect(await outboundCount(fb.id)).toBe(0);
    expect(await outboundCount(wa.id)).toBe(0);

    const bad: [Record<string, unknown>, RegExp][] = [
      [{ text: 'hi', messageTag: 'PROMOTION' }, /"path":"messageTag"/],
      [
        { template: { name: 'Refund Update', language: 'en' } },
        /"path":"template.name","message":"a template name is lower-case/,
      ],
      [{ template: { name: 'refund_update', language: 'english' } }, /"path":"template.language"/],
      [{ template: { name: 'refund_update', language: 'en', parameters: ['a\nb'] } }, /new lines, tabs/],
      [{ text: 'hi', template: { name: 'refund_update', language: 'en' } }, /leave out text, html and attachments/],
      [{ kind: 'note', text: 'x', messageTag: 'HUMAN_AGENT' }, /apply to replies only/],
      [{}, /"path":"text","message":"text is required"/],
    ];
    for (const [body, reason] of bad) {
      const res = await reply(wa.id, body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(JSON.stringify(res.body)).toMatch(reason);
    }
  });
});
