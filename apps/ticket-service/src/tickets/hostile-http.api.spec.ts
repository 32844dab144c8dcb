import { ApiHarness } from './api-test-harness';

/**
 * What an agent's client or an attacker can send that used to end in a 500: NUL and lone
 * surrogates (Postgres refuses them), JSON deep enough to overflow the stack of anything that
 * recurses over it (the idempotency hash, the mask), malformed JSON. Each is a 400 with a reason
 * and nothing is written.
 */
describe('hostile input on the agent API', () => {
  const h = new ApiHarness();
  beforeAll(() => h.start(), 30_000);
  afterAll(() => h.stop());

  const raw = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${h.base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.tokens.alice}`, 'content-type': 'application/json', ...headers },
      body,
    });

  it('refuses NUL and unpaired surrogates in a note, a ticket and the search with 400 naming the field', async () => {
    const t = await h.createTicket('alice');
    const before = await h.call('alice', 'GET', `/v1/tickets/${t.id}`);
    const note = await h.call('alice', 'POST', `/v1/tickets/${t.id}/messages`, {
      kind: 'note',
      text: 'called the bank\u0000 twice',
    });
    expect(note.status).toBe(400);
    expect(note.body.fields).toEqual([{ path: 'text', message: expect.stringMatching(/U\+0000/) }]);
    // A raw lone surrogate cannot be written by JSON.stringify (it escapes it): send the escape itself.
    const lone = await raw(`/v1/tickets/${t.id}/messages`, '{"kind":"note","text":"bad \\ud800 half"}');
    expect(lone.status).toBe(400);
    const created = await h.call('alice', 'POST', '/v1/tickets', {
      requester: { kind: 'email', value: 'nul@example.com' },
      channel: 'email',
      subject: 'x\u0000',
      message: { text: 'hello' },
    });
    expect(created.status).toBe(400);
    expect(created.body.fields[0].path).toBe('subject');
    const search = await h.call('alice', 'GET', `/v1/tickets?q=${encodeURIComponent('refund\u0000')}`);
    expect(search.status).toBe(400);
    expect(search.body.fields[0].path).toBe('q');
    const after = await h.call('alice', 'GET', `/v1/tickets/${t.id}`);
    expect(after.body.messages).toHaveLength(before.body.messages.length);
  });

  it('answers 400 for JSON nested too deep, also with an Idempotency-Key and before login', async () => {
    const t = await h.createTicket('alice');
    const deep = `{"kind":"note","text":"x","extra":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const withKey = await raw(`/v1/tickets/${t.id}/messages`, deep, { 'idempotency-key': 'deep-1' });
    expect(withKey.status).toBe(400);
    expect((await withKey.json()).message).toBe('JSON nested deeper than 64 levels');
    const login = await fetch(`${h.base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // 1,000 levels fit login's 4 KiB body limit (a bigger body is a 413 before any parsing).
      body: `{"email":${'['.repeat(1000)}${']'.repeat(1000)}}`,
    });
    expect(login.status).toBe(400);
    expect((await login.json()).message).toBe('JSON nested deeper than 64 levels');
    // 64 levels are still JSON we parse: the schema decides about the shape.
    const shallow = await raw(
      `/v1/tickets/${t.id}/messages`,
      `{"kind":"note","text":"x","extra":${'['.repeat(60)}${']'.repeat(60)}}`,
    );
    expect(shallow.status).toBe(400);
    expect((await shallow.json()).message).toBe('validation failed');
  });

  it('answers 400 with the reason for malformed, empty and prototype-poisoning JSON', async () => {
    const t = await h.createTicket('alice');
    const malformed = await raw(`/v1/tickets/${t.id}/messages`, '{"kind":"note",');
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).message).toMatch(/^invalid JSON/);
    const empty = await raw(`/v1/tickets/${t.id}/messages`, '');
    expect(empty.status).toBe(400);
    const proto = await raw(`/v1/tickets/${t.id}/messages`, '{"kind":"note","text":"x","__proto__":{"admin":true}}');
    expect(proto.status).toBe(400);
  });
});
