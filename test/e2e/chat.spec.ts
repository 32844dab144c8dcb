import { CHAT_CUSTOMER_TYPING_CHANNEL, deliveryReportJobId, QueueName } from '@oq/contracts';
import { TEST_REDIS_URL } from '@oq/database/testing/test-env';
import { QueueService } from '@oq/platform';
import { Redis } from 'ioredis';
import { Socket } from 'socket.io-client';
import { ChatGateway } from '../../apps/chat-service/src/gateway/chat.gateway';
import { roomOf } from '../../apps/chat-service/src/identity/customer';
import { ChatStack, eventually, nextEvent } from './chat-stack';

/**
 * Chat end to end through real processes' code: ticket-service (ingest,
 * replies, delivery reports, chat history, offline email fallback) and two
 * chat-service instances sharing Redis, driven by real socket.io clients.
 */
describe('in-app chat', () => {
  let s: ChatStack;
  beforeAll(async () => {
    s = await ChatStack.start({
      chatEnv: { CHAT_SOCKET_MESSAGES_PER_WINDOW: '5', CHAT_RATE_WINDOW_SECONDS: '5' },
    });
  }, 60_000);
  afterAll(async () => s?.stop());

  const send = (socket: Socket, payload: unknown): Promise<any> =>
    socket.timeout(5000).emitWithAck('message:send', payload);

  /** The ticket-service message stored for a chat ack (ingest is asynchronous). */
  const storedMessage = (externalId: string) =>
    eventually(async () => {
      const rows = await s.ds.query(
        `SELECT m.id, m.ticket_id, m.author_contact_id, m.text, m.attachments FROM messages m WHERE m.external_id = $1`,
        [externalId],
      );
      return rows.length ? rows[0] : null;
    });

  it('accepts users verified by JWT or user hash and refuses forged or unsigned user claims', async () => {
    const jwt = await s.userJwt({ user_id: 'u-1001', name: 'Mia' });
    const { session } = await s.connect({ userJwt: jwt });
    expect(session.identity).toEqual({ kind: 'app_user', value: 'u-1001' });
    expect(session).toMatchObject({ agentsOnline: true, withinBusinessHours: true, expectedReplyMinutes: 5 });

    const byHash = await s.connect({ userId: 'u-1002', userHash: s.userHash('u-1002') });
    expect(byHash.session.identity).toEqual({ kind: 'app_user', value: 'u-1002' });

    const refused = async (auth: Record<string, string>) => {
      const err = await s.connect(auth).catch((e) => e);
      expect(err).toBeInstanceOf(Error);
      if (process.env.DEBUG_CHAT) console.log(err.message, err.data);
      return err as Error & { data?: { code?: string } };
    };
    // Signed with another key, expired, a hash for someone else, or no proof at all.
    expect(
      (await refused({ userJwt: await s.userJwt({ user_id: 'u-1001' }, 'not-the-inbox-secret-000') })).data?.code,
    ).toBe('unverified_user');
    expect(
      (await refused({ userJwt: await s.userJwt({ user_id: 'u-1001' }, s.secret, Math.floor(Date.now() / 1000) - 60) }))
        .data?.code,
    ).toBe('unverified_user');
    expect((await refused({ userId: 'u-1001', userHash: s.userHash('u-1002') })).data?.code).toBe('unverified_user');
    expect((await refused({ userId: 'u-1001' })).data?.code).toBe('unverified_user');
    // A JWT naming one user while claiming to be another.
    expect((await refused({ userJwt: jwt, userId: 'u-666' })).data?.code).toBe('unverified_user');
    expect((await refused({ visitorToken: 'v1.forged-token-value' })).data?.code).toBe('invalid_visitor');
    expect((await refused({})).data?.code).toBe('no_identity');
  });

  it('refuses browser origins outside the inbox allow-list', async () => {
    const v = await s.visitor();
    const err = await s.connect({ visitorToken: v.token }, { origin: 'https://evil.example' }).catch((e) => e);
    expect(err.data?.code).toBe('origin_not_allowed');
    const ok = await s.connect({ visitorToken: v.token }, { origin: 'https://wallet.example' });
    expect(ok.session.identity).toEqual({ kind: 'visitor', value: v.visitorId });
  });

  it('queues a resent message once and answers the same ack', async () => {
    const { socket } = await s.connect({ userId: 'u-2001', userHash: s.userHash('u-2001') });
    const first = await send(socket, { clientId: 'm-1', text: 'My transfer of 40 EUR failed but the money is gone' });
    const again = await send(socket, { clientId: 'm-1', text: 'My transfer of 40 EUR failed but the money is gone' });
    expect(first).toMatchObject({ ok: true, clientId: 'm-1', duplicate: false });
    expect(again).toEqual({ ...first, duplicate: true });
    // A reconnect (another socket, another replica) resending the same client id is still one message.
    const other = await s.connect({ userId: 'u-2001', userHash: s.userHash('u-2001') }, { chat: 1 });
    expect(await send(other.socket, { clientId: 'm-1', text: 'x' })).toEqual({ ...first, duplicate: true });

    const stored = await storedMessage(first.externalId);
    expect(stored.text).toContain('failed but the money is gone');
    // Every send is acknowledged after its enqueue, a resend from the first send's ack: all the jobs the
    // three sends made are on the inbound queue now. One job, and once ingest has finished it, one row.
    const inbound = s.ticket.get(QueueService).queue(QueueName.Inbound);
    const jobs = await eventually(async () => {
      const mine = (
        await inbound.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'])
      ).filter((j) => j.data.externalId === first.externalId);
      return mine.every((j) => j.finishedOn) && mine;
    });
    expect(jobs.map((j) => j.failedReason)).toEqual([undefined]);
    const [{ n }] = await s.ds.query('SELECT count(*)::int AS n FROM messages WHERE external_id = $1', [
      first.externalId,
    ]);
    expect(n).toBe(1);
  });

  it('rejects invalid and oversized messages with a reason', async () => {
    const { socket } = await s.connect({ userId: 'u-2101', userHash: s.userHash('u-2101') });
    expect(await send(socket, { clientId: 'bad id!', text: 'hi' })).toMatchObject({
      ok: false,
      error: 'invalid_message',
    });
    expect(await send(socket, { clientId: 'long', text: 'x'.repeat(4001) })).toMatchObject({
      ok: false,
      error: 'message_too_long',
    });
    expect(await send(socket, { clientId: 'empty', text: '   ' })).toMatchObject({
      ok: false,
      error: 'invalid_message',
    });
  });

  it('lets a visitor chat, then merges the visitor into the user who signs in', async () => {
    const v = await s.visitor();
    const anon = await s.connect({ visitorToken: v.token });
    const a1 = await send(anon.socket, { clientId: 'v-1', text: 'Hi, is anyone there?' });
    const visitorMsg = await storedMessage(a1.externalId);
    anon.socket.close();

    const jwt = await s.userJwt({ user_id: 'u-3001', name: 'Jonas', email: 'jonas@example.com' });
    const signedIn = await s.connect({ userJwt: jwt, visitorToken: v.token });
    expect(signedIn.session.identity).toEqual({ kind: 'app_user', value: 'u-3001' });
    const a2 = await send(signedIn.socket, { clientId: 'u-1', text: 'Signed in now: my card was charged twice' });
    const userMsg = await storedMessage(a2.externalId);

    const owners = await eventually(async () => {
      const rows: { kind: string; contact_id: string }[] = await s.ds.query(
        `SELECT kind, contact_id FROM contact_identities WHERE (kind, value) IN (('visitor', $1), ('app_user', 'u-3001'), ('email', 'jonas@example.com'))`,
        [v.visitorId],
      );
      return rows.length === 3 && new Set(rows.map((r) => r.contact_id)).size === 1 ? rows : null;
    });
    expect(owners[0].contact_id).toBeTruthy();
    expect(visitorMsg.ticket_id).toBeTruthy();
    expect(userMsg.ticket_id).toBeTruthy();

    // The user's history (REST, same credentials) shows both conversations' messages, newest first.
    const res = await fetch(`${s.chatUrls[1]}/chat/${s.inboxId}/messages?limit=10`, {
      headers: { 'x-chat-user-token': jwt },
    });
    expect(res.status).toBe(200);
    const page = await res.json();
    expect(page.messages.map((m: { text: string }) => m.text)).toEqual([
      'Signed in now: my card was charged twice',
      'Hi, is anyone there?',
    ]);

    // After sign-in the bare visitor token (a shared device after sign-out) reads nothing; another user cannot claim it.
    const reuse = await s.connect({ visitorToken: v.token }).catch((e) => e);
    expect(reuse.data?.code).toBe('invalid_visitor');
    const other = await s.connect({ userId: 'u-3002', userHash: s.userHash('u-3002'), visitorToken: v.token });
    expect(other.session.visitorId).toBeNull();
  });

  it('delivers an agent reply to a customer connected to the second instance and reports it delivered, then read', async () => {
    const creds = { userId: 'u-4001', userHash: s.userHash('u-4001') };
    const { socket } = await s.connect(creds, { chat: 1 });
    const ack = await send(socket, { clientId: 'q-1', text: 'Where is my refund?' });
    const inbound = await storedMessage(ack.externalId);

    const incoming = nextEvent(socket, 'message');
    const reply = await s.agentCall('POST', `/v1/tickets/${inbound.ticket_id}/messages`, {
      text: 'Your refund left today.',
    });
    expect(reply.status).toBe(201);
    const pushed = await incoming;
    expect(pushed).toMatchObject({
      direction: 'outbound',
      text: 'Your refund left today.',
      ticketId: inbound.ticket_id,
    });
    const replyId: string = pushed.id;
    await eventually(async () => {
      const [m] = await s.ds.query('SELECT delivery_status FROM messages WHERE id = $1', [replyId]);
      return m?.delivery_status === 'delivered';
    });

    // Read receipts count only for messages pushed to this customer.
    const stranger = await s.connect({ userId: 'u-4999', userHash: s.userHash('u-4999') });
    await stranger.socket.timeout(3000).emitWithAck('message:read', { messageIds: [replyId] });
    // A receipt is queued (its job id from the message) before the ack: none was for the stranger's.
    const delivery = s.ticket.get(QueueService).queue(QueueName.Delivery);
    const readJobId = deliveryReportJobId({ kind: 'read', inboxId: s.inboxId, messageId: replyId });
    expect(await delivery.getJob(readJobId)).toBeUndefined();
    expect((await s.ds.query('SELECT delivery_status FROM messages WHERE id = $1', [replyId]))[0].delivery_status).toBe(
      'delivered',
    );
    await socket.timeout(3000).emitWithAck('message:read', { messageIds: [replyId] });
    await eventually(async () => {
      const [m] = await s.ds.query('SELECT delivery_status FROM messages WHERE id = $1', [replyId]);
      return m?.delivery_status === 'read';
    });
  });

  it('reports a reply pushed to a connected client that does not acknowledge as sent, never as failed or offline', async () => {
    const creds = { userId: 'u-4101', userHash: s.userHash('u-4101') };
    const { socket } = await s.connect(creds, { chat: 1 });
    const ack = await send(socket, { clientId: 'na-1', text: 'Is my top-up through?' });
    const inbound = await storedMessage(ack.externalId);
    // An old SDK: it takes the event but never calls the ack callback.
    const incoming = new Promise<{ id: string }>((resolve) =>
      socket.once('message', (m: { id: string }) => resolve(m)),
    );
    const reply = await s.agentCall('POST', `/v1/tickets/${inbound.ticket_id}/messages`, { text: 'It is through.' });
    expect(reply.status).toBe(201);
    expect((await incoming).id).toBe(reply.body.id);
    // The ack timeout is 1.5 s here; the report that proves the outcome is the move to `sent`.
    const sent = await eventually(async () => {
      const [m] = await s.ds.query('SELECT delivery_status, delivery_reason FROM messages WHERE id = $1', [
        reply.body.id,
      ]);
      return m?.delivery_status === 'sent' ? m : null;
    }, 10_000);
    expect(sent.delivery_reason).toBeNull();
    const { Queue } = await import('bullmq');
    const q = new Queue('delivery', { connection: { url: TEST_REDIS_URL } as never, prefix: s.prefix });
    try {
      const reports = (await q.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed'])).filter(
        (j) => j.data.messageId === reply.body.id,
      );
      // One report for the push, and it is `sent`: no `failed` (which would start the offline email).
      expect(reports.map((j) => j.data.status)).toEqual(['sent']);
    } finally {
      await q.close();
    }
  });

  it('reports an offline customer undelivered, emails them, and serves the reply in history without internal notes', async () => {
    const jwt = await s.userJwt({ user_id: 'u-5001', email: 'lena@example.com' });
    const { socket } = await s.connect({ userJwt: jwt });
    const ack = await send(socket, { clientId: 'o-1', text: 'Please unblock my account' });
    const inbound = await storedMessage(ack.externalId);
    socket.close();
    const room = roomOf(s.inboxId, { kind: 'app_user', value: 'u-5001' });
    await eventually(async () => (await s.chats[0].get(ChatGateway).io.in(room).fetchSockets()).length === 0);

    const note = await s.agentCall('POST', `/v1/tickets/${inbound.ticket_id}/messages`, {
      kind: 'note',
      text: 'INTERNAL: check fraud flags first',
    });
    expect(note.status).toBe(201);
    const reply = await s.agentCall('POST', `/v1/tickets/${inbound.ticket_id}/messages`, {
      text: 'Unblocked, please log in again.',
    });
    expect(reply.status).toBe(201);
    const replyId: string = reply.body.id;

    const failed = await eventually(async () => {
      const [m] = await s.ds.query('SELECT delivery_status, delivery_reason FROM messages WHERE id = $1', [replyId]);
      return m?.delivery_status === 'failed' ? m : null;
    });
    expect(failed.delivery_reason).toBe('customer offline');

    // After CHAT_OFFLINE_EMAIL_DELAY_SECONDS (1 s here) the ticket gets an automatic email through the outbound flow.
    const email = await eventually(async () => {
      const [m] = await s.ds.query(
        `SELECT m.id, m.channel, m.inbox_id, m.subject, m.text, m.auto_submitted, ci.value AS to_address
         FROM chat_offline_notifications n JOIN messages m ON m.id = n.notification_message_id
         JOIN contact_identities ci ON ci.id = m.to_identity_id WHERE n.chat_message_id = $1`,
        [replyId],
      );
      return m;
    });
    expect(email).toMatchObject({
      channel: 'email',
      inbox_id: s.emailInboxId,
      to_address: 'lena@example.com',
      auto_submitted: true,
    });
    expect(email.text).toContain('Unblocked, please log in again.');
    const job = await eventually(async () => {
      const { Queue } = await import('bullmq');
      const q = new Queue('outbound.email', {
        connection: { url: TEST_REDIS_URL } as never,
        prefix: s.prefix,
      });
      try {
        return await q.getJob(`${email.id}-0`);
      } finally {
        await q.close();
      }
    });
    expect(job?.data).toMatchObject({ to: { kind: 'email', value: 'lena@example.com' }, automatic: true });

    // Back online: the history has the reply, never the note.
    const res = await fetch(`${s.chatUrls[0]}/chat/${s.inboxId}/messages`, { headers: { 'x-chat-user-token': jwt } });
    const texts = (await res.json()).messages.map((m: { text: string }) => m.text);
    expect(texts).toContain('Unblocked, please log in again.');
    expect(texts).toContain('Please unblock my account');
    expect(texts.join(' ')).not.toContain('INTERNAL');
    expect(texts.join(' ')).not.toContain('We replied to your chat');
  });

  it('paginates history with a cursor', async () => {
    const creds = { userId: 'u-6001', userHash: s.userHash('u-6001') };
    const { socket } = await s.connect(creds);
    for (let i = 1; i <= 3; i++) {
      const ack = await send(socket, { clientId: `p-${i}`, text: `message ${i}` });
      await storedMessage(ack.externalId);
    }
    const headers = { 'x-chat-user-id': 'u-6001', 'x-chat-user-hash': s.userHash('u-6001') };
    const p1 = await (await fetch(`${s.chatUrls[0]}/chat/${s.inboxId}/messages?limit=2`, { headers })).json();
    expect(p1.messages.map((m: { text: string }) => m.text)).toEqual(['message 3', 'message 2']);
    const p2 = await (
      await fetch(`${s.chatUrls[0]}/chat/${s.inboxId}/messages?limit=2&cursor=${p1.nextCursor}`, { headers })
    ).json();
    expect(p2.messages.map((m: { text: string }) => m.text)).toEqual(['message 1']);
    expect(p2.nextCursor).toBeNull();
    const forged = await fetch(`${s.chatUrls[0]}/chat/${s.inboxId}/messages`, {
      headers: { ...headers, 'x-chat-user-hash': s.userHash('u-6002') },
    });
    expect(forged.status).toBe(401);
  });

  it('rate-limits a socket that floods', async () => {
    const { socket } = await s.connect({ userId: 'u-7001', userHash: s.userHash('u-7001') });
    const acks = [];
    for (let i = 0; i < 7; i++) acks.push(await send(socket, { clientId: `f-${i}`, text: `flood ${i}` }));
    expect(acks.slice(0, 5).every((a) => a.ok)).toBe(true);
    expect(acks[5]).toMatchObject({ ok: false, error: 'rate_limited' });
  });

  it('relays typing both ways across instances', async () => {
    const sub = new Redis(TEST_REDIS_URL);
    try {
      await sub.subscribe(CHAT_CUSTOMER_TYPING_CHANNEL);
      const customerTyping = new Promise<any>((resolve) =>
        sub.on('message', (_c, raw: string) => {
          const e = JSON.parse(raw);
          if (e.identity.value === 'u-8001') resolve(e);
        }),
      );
      const { socket } = await s.connect({ userId: 'u-8001', userHash: s.userHash('u-8001') }, { chat: 1 });
      socket.emit('typing', { typing: true });
      expect(await customerTyping).toMatchObject({
        inboxId: s.inboxId,
        identity: { kind: 'app_user', value: 'u-8001' },
        typing: true,
      });

      // The agent types on the customer's ticket (ticket-service API → pub/sub → the replica holding the socket).
      const ack = await send(socket, { clientId: 't-1', text: 'Are you still there?' });
      const { ticket_id } = await storedMessage(ack.externalId);
      const agentTyping = nextEvent(socket, 'typing');
      const typed = await s.agentCall('POST', `/v1/tickets/${ticket_id}/typing`, { typing: true });
      expect(typed.status).toBe(204);
      expect(await agentTyping).toEqual({ typing: true, agentName: 'Ana' });
    } finally {
      sub.disconnect();
    }
  });

  it('answers 400 for an X-Filename with malformed percent-encoding or NUL, and decodes a good one', async () => {
    const headers = { 'x-chat-user-id': 'u-9003', 'x-chat-user-hash': s.userHash('u-9003') };
    const upload = (filename: string) =>
      fetch(`${s.chatUrls[0]}/chat/${s.inboxId}/attachments`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/octet-stream', 'x-filename': filename },
        body: 'bytes',
      });
    const bad = await upload('%E0%A4%A.pdf');
    expect(bad.status).toBe(400);
    expect((await bad.json()).message).toMatch(/X-Filename must be percent-encoded UTF-8/);
    expect((await upload('a%00b.pdf')).status).toBe(400);
    const good = await upload(encodeURIComponent('退款 receipt.pdf'));
    expect(good.status).toBe(201);
    expect((await good.json()).filename).toBe('退款 receipt.pdf');
  });

  it('uploads an attachment and sends it; only its uploader may attach or download it', async () => {
    const headers = { 'x-chat-user-id': 'u-9001', 'x-chat-user-hash': s.userHash('u-9001') };
    const up = await fetch(`${s.chatUrls[0]}/chat/${s.inboxId}/attachments`, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/octet-stream',
        'x-filename': 'receipt.txt',
        'x-content-type': 'text/plain',
      },
      body: 'Transaction 4711: 40.00 EUR',
    });
    const ref = await up.json();
    expect({ status: up.status, ref }).toMatchObject({ status: 201 });
    expect(ref).toMatchObject({ filename: 'receipt.txt', contentType: 'text/plain', size: 27 });

    const { socket } = await s.connect({ userId: 'u-9001', userHash: s.userHash('u-9001') });
    const ack = await send(socket, { clientId: 'att-1', text: 'Receipt attached', attachments: [ref] });
    expect(ack.ok).toBe(true);
    const stored = await storedMessage(ack.externalId);
    expect(stored.attachments[0]).toMatchObject({ sha256: ref.sha256 });

    const thief = await s.connect({ userId: 'u-9002', userHash: s.userHash('u-9002') });
    expect(await send(thief.socket, { clientId: 'att-2', text: 'mine', attachments: [ref] })).toMatchObject({
      ok: false,
      error: 'invalid_attachment',
    });
    const dl = await fetch(`${s.chatUrls[1]}/chat/${s.inboxId}/attachments/${ref.sha256}`, { headers });
    expect(await dl.text()).toBe('Transaction 4711: 40.00 EUR');
    const denied = await fetch(`${s.chatUrls[1]}/chat/${s.inboxId}/attachments/${ref.sha256}`, {
      headers: { 'x-chat-user-id': 'u-9002', 'x-chat-user-hash': s.userHash('u-9002') },
    });
    expect(denied.status).toBe(404);
  });
});
