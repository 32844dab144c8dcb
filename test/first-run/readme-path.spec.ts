import { CHANNELS, FirstRun, exerciseChannels, fetchOpenApi } from '../support/first-run';

/**
 * The README's path on a fresh clone (test/support/first-run.ts): `npm start` in demo mode,
 * the printed login, `npm run demo:traffic`, a ticket of every channel, a reply on every
 * channel with outbound reaching its final delivery state. Its own database, prefix and ports.
 */
describe('the first five minutes on a fresh clone', () => {
  const run = new FirstRun();
  afterAll(() => run.stop(), 60_000);

  it('starts, prints a short start and a login that works, and every channel takes a message and a reply', async () => {
    await run.prepare();
    const started = await run.start();
    expect(started.summary).toMatch(/user:\s+admin@onequeue\.local/);
    expect(started.summary).toContain('npm run demo:traffic');
    // A first start: creating .env and the database, migrating, building, seeding.
    expect(started.linesBefore <= 25 ? 'at most 25 lines' : started.before).toBe('at most 25 lines');
    const login = run.loginFrom(started.summary);

    const traffic = await run.runTraffic();
    expect(traffic).toMatch(/9\/9 messages accepted/);

    const result = await exerciseChannels(run, login);
    expect(result.channelsOk).toEqual([...CHANNELS]);
    expect(result.replies).toEqual(
      ['email', 'whatsapp', 'messenger', 'instagram', 'telegram', 'voice', 'chat'].map((c) =>
        expect.objectContaining({ ticketChannel: c, final: true }),
      ),
    );
    expect(result.replies.find((r) => r.ticketChannel === 'voice')).toMatchObject({ replyChannel: 'whatsapp' });
    expect(result.outboxMails).toBe(1);
    // WhatsApp twice (its ticket and the call), Messenger, Instagram, Telegram.
    expect(result.fakeProviderSends).toBe(5);

    const docs = await fetchOpenApi(run);
    for (const d of docs) expect(d.document).toMatchObject({ openapi: expect.stringMatching(/^3\./) });
  }, 420_000);
});
