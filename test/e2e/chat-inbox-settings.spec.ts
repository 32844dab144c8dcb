import { randomUUID } from 'node:crypto';
import { INBOX_CHANGED_CHANNEL } from '@oq/contracts';
import { TEST_REDIS_URL } from '@oq/database/testing/test-env';
import { LOGGER } from '@oq/platform';
import { Redis } from 'ioredis';
import { Logger } from 'pino';
import { ChatStack, eventually } from './chat-stack';

/**
 * A chat inbox whose stored settings are invalid (written before the admin API checked them, or
 * by hand in SQL) is refused loudly by chat-service — never served with default settings, whose
 * empty allow-list would admit every origin — while its other inboxes keep working.
 */
describe('chat inbox with invalid stored settings', () => {
  let s: ChatStack;
  let brokenId: string;
  const ORIGIN = 'https://wallet.example';

  beforeAll(async () => {
    s = await ChatStack.start({ chatInstances: 1 });
    brokenId = randomUUID();
    await s.ds.query(
      `INSERT INTO inboxes (id, name, channel, address, default_team_id, settings)
       VALUES ($1, 'Partner chat', 'chat', 'partner-app', $2, $3::jsonb)`,
      [brokenId, s.teamId, JSON.stringify({ allowedOrigins: [ORIGIN] })],
    );
  }, 60_000);
  afterAll(async () => s?.stop());

  const visitor = (inboxId: string, origin: string) =>
    fetch(`${s.chatUrls[0]}/chat/${inboxId}/visitors`, { method: 'POST', headers: { origin } });
  const health = async () => (await fetch(`${s.chatUrls[0]}/health`)).json() as Promise<Record<string, any>>;

  it('refuses sockets and REST for it with the reason, lists it on /health, counts and logs it', async () => {
    // Valid at first: served, with its allow-list applied.
    const first = await visitor(brokenId, ORIGIN);
    expect(first.status).toBe(201);
    const { token } = (await first.json()) as { token: string };
    expect((await s.connect({ inboxId: brokenId, visitorToken: token }, { origin: ORIGIN })).session.inboxId).toBe(
      brokenId,
    );
    expect((await visitor(brokenId, 'https://evil.example')).status).toBe(403);

    const logger = s.chats[0].get<Logger>(LOGGER);
    const errors = jest.spyOn(logger, 'error');
    // A host where an origin belongs and a number as text: chat-service used to replace the whole
    // settings object with the defaults — an empty allow-list, every origin admitted.
    await s.ds.query(`UPDATE inboxes SET settings = $2::jsonb, updated_at = now() WHERE id = $1`, [
      brokenId,
      JSON.stringify({ allowedOrigins: ['wallet.example'], expectedReplyMinutes: '5' }),
    ]);
    const pub = new Redis(TEST_REDIS_URL);
    await pub.publish(INBOX_CHANGED_CHANNEL, brokenId);
    pub.disconnect();

    const reason =
      'settings.allowedOrigins.0: must be an origin like https://app.example; ' +
      'settings.expectedReplyMinutes: Invalid input: expected number, received string';
    const listed = await eventually(async () => {
      const body = await health();
      return body.inboxes?.invalid?.length ? body : null;
    });
    expect(listed).toMatchObject({ status: 'ok', inboxes: { invalid: [{ id: brokenId, channel: 'chat', reason }] } });
    expect((await fetch(`${s.chatUrls[0]}/health`)).status).toBe(200);

    // Any origin, even none (a native app), is refused with the reason instead of being let through.
    for (const origin of [ORIGIN, 'https://evil.example', undefined]) {
      const err = await s.connect({ inboxId: brokenId, visitorToken: token }, { origin }).catch((e) => e);
      expect(err).toMatchObject({ data: { code: 'inbox_invalid' } });
      expect(err.message).toContain(reason);
    }
    const rest = await visitor(brokenId, 'https://evil.example');
    expect(rest.status).toBe(503);
    expect(((await rest.json()) as { message: string }).message).toContain(reason);

    // The stack's own chat inbox is untouched.
    const other = await s.visitor(0, { origin: ORIGIN });
    expect((await s.connect({ visitorToken: other.token }, { origin: ORIGIN })).session.inboxId).toBe(s.inboxId);

    const metrics = await (await fetch(`${s.chatUrls[0]}/metrics`)).text();
    expect(metrics).toMatch(/^oq_inboxes_invalid\{[^}]*channel="chat"[^}]*\} 1$/m);
    expect(errors).toHaveBeenCalledWith(
      expect.objectContaining({ inboxId: brokenId, channel: 'chat', problems: reason.split('; ') }),
      expect.stringContaining('not serving it'),
    );
  });
});
