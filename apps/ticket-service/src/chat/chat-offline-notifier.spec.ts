import { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  createTestDatabase,
  dropQueuePrefix,
  testQueuePrefix,
  testServiceEnv,
  TestDatabase,
} from '@oq/database/testing/test-env';
import { createHttpApp } from '@oq/platform';
import { DataSource } from 'typeorm';
import { AppModule } from '../app.module';
import { ChatOfflineNotifier } from './chat-offline-notifier.service';

describe('chat offline email fallback', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let ds: DataSource;
  let notifier: ChatOfflineNotifier;
  const prefix = testQueuePrefix();
  let teamId: string;
  let chatInbox: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    // The timer is parked (1 h); the test drives scan() itself.
    app = await createHttpApp(AppModule, {
      title: 'ticket-service',
      env: testServiceEnv(db, prefix, { CHAT_OFFLINE_EMAIL_DELAY_SECONDS: '0', CHAT_OFFLINE_SCAN_MS: '3600000' }),
    });
    await app.init();
    ds = app.get(DataSource);
    notifier = app.get(ChatOfflineNotifier);
    [{ id: teamId }] = await ds.query(`INSERT INTO teams (name) VALUES ('Chat') RETURNING id`);
    [{ id: chatInbox }] = await ds.query(
      `INSERT INTO inboxes (name, channel, address, default_team_id) VALUES ('chat', 'chat', 'app', $1) RETURNING id`,
      [teamId],
    );
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await dropQueuePrefix(prefix);
  });

  /** A chat ticket of a new contact with an agent reply in the given delivery state. */
  async function chatReply(opts: { email?: string; status?: string; reason?: string }) {
    const [{ id: contactId }] = await ds.query(`INSERT INTO contacts (name) VALUES ('Customer') RETURNING id`);
    await ds.query(
      `INSERT INTO contact_identities (contact_id, kind, value, verified) VALUES ($1, 'app_user', $2, true)`,
      [contactId, `user-${contactId}`],
    );
    if (opts.email)
      await ds.query(`INSERT INTO contact_identities (contact_id, kind, value) VALUES ($1, 'email', $2)`, [
        contactId,
        opts.email,
      ]);
    const [{ id: ticketId }] = await ds.query(
      `INSERT INTO tickets (subject, team_id, requester_id, channel, inbox_id) VALUES ('chat', $1, $2, 'chat', $3) RETURNING id`,
      [teamId, contactId, chatInbox],
    );
    await ds.query(
      `INSERT INTO messages (ticket_id, inbox_id, channel, direction, text, external_id, created_at)
       VALUES ($1, $2, 'chat', 'inbound', 'help', $3, now() - interval '1 minute')`,
      [ticketId, chatInbox, `app_user:${contactId}:c1`],
    );
    const [{ id: replyId }] = await ds.query(
      `INSERT INTO messages (ticket_id, inbox_id, channel, direction, text, delivery_status, delivery_reason, updated_at)
       VALUES ($1, $2, 'chat', 'outbound', 'Your refund is on its way', $3, $4, now() - interval '1 second') RETURNING id`,
      [ticketId, chatInbox, opts.status ?? 'failed', opts.reason ?? 'customer offline'],
    );
    return { ticketId, replyId, contactId };
  }

  const outcome = async (replyId: string) =>
    (
      await ds.query(
        'SELECT outcome, reason, notification_message_id FROM chat_offline_notifications WHERE chat_message_id = $1',
        [replyId],
      )
    )[0];

  it('skips without an email inbox, then emails once through the outbox when one exists', async () => {
    const early = await chatReply({ email: 'early@example.com' });
    await notifier.scan();
    expect(await outcome(early.replyId)).toMatchObject({ outcome: 'skipped', reason: 'no email inbox' });

    const [{ id: emailInbox }] = await ds.query(
      `INSERT INTO inboxes (name, channel, address, default_team_id) VALUES ('mail', 'email', 'help@wallet.test', $1) RETURNING id`,
      [teamId],
    );
    const r = await chatReply({ email: 'Mia@Example.com' });
    await notifier.scan();
    const o = await outcome(r.replyId);
    expect(o).toMatchObject({ outcome: 'sent' });
    const [email] = await ds.query('SELECT * FROM messages WHERE id = $1', [o.notification_message_id]);
    expect(email).toMatchObject({
      ticket_id: r.ticketId,
      inbox_id: emailInbox,
      channel: 'email',
      direction: 'outbound',
      delivery_status: 'queued',
      auto_submitted: true,
    });
    expect(email.text).toContain('> Your refund is on its way');
    expect(email.email_message_id).toMatch(/^<oq\./);
    const jobs = await ds.query(`SELECT queue, job_id, payload FROM outbox WHERE payload->>'messageId' = $1`, [
      email.id,
    ]);
    // The relay may already have moved it to BullMQ; the audit trail stays either way.
    if (jobs.length) expect(jobs[0]).toMatchObject({ queue: 'outbound.email', job_id: `${email.id}-0` });
    const [audit] = await ds.query(
      `SELECT action FROM ticket_audit WHERE ticket_id = $1 AND action = 'chat_offline_email'`,
      [r.ticketId],
    );
    expect(audit).toBeTruthy();

    // Rescans (or another replica) never notify twice.
    await notifier.scan();
    const [{ n }] = await ds.query(
      `SELECT count(*)::int AS n FROM messages WHERE metadata->>'chatOfflineNotificationFor' = $1`,
      [r.replyId],
    );
    expect(n).toBe(1);
  });

  it('records why it did not email: no address, or the customer came back and wrote', async () => {
    const noEmail = await chatReply({});
    const returned = await chatReply({ email: 'back@example.com' });
    await ds.query(
      `INSERT INTO messages (ticket_id, inbox_id, channel, direction, text, external_id) VALUES ($1, $2, 'chat', 'inbound', 'thanks', $3)`,
      [returned.ticketId, chatInbox, `app_user:${returned.contactId}:c2`],
    );
    const delivered = await chatReply({ email: 'ok@example.com', status: 'delivered', reason: '' });
    await notifier.scan();
    expect(await outcome(noEmail.replyId)).toMatchObject({
      outcome: 'skipped',
      reason: 'contact has no email address',
    });
    expect(await outcome(returned.replyId)).toMatchObject({ outcome: 'skipped', reason: 'customer wrote again since' });
    expect(await outcome(delivered.replyId)).toBeUndefined();
    // The ticket's timeline says so too (not only the notifications table).
    const [audit] = await ds.query(
      `SELECT actor_type, changes FROM ticket_audit WHERE ticket_id = $1 AND action = 'chat_offline_email_skipped'`,
      [noEmail.ticketId],
    );
    expect(audit).toEqual({
      actor_type: 'system',
      changes: { chatMessageId: noEmail.replyId, reason: 'contact has no email address' },
    });
  });
});
