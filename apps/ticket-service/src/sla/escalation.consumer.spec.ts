import { randomUUID } from 'node:crypto';
import { JobName, TicketCommand, ticketIdFromEmailMessageId } from '@oq/contracts';
import { ConversationRepository, createDataSource, MessageRepository, TicketRepository } from '@oq/database';
import { createTestDatabase, TestDatabase } from '@oq/database/testing/test-env';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { Config } from '../config';
import { AutomaticEmailService } from '../outbox/automatic-email.service';
import { OutboxService } from '../outbox/outbox.service';
import { EscalationConsumer } from './escalation.consumer';
import { SlaClockService } from './sla-clock.service';

const SECRET = 'escalation-spec-threading-secret-0123456789';
const config = { EMAIL_THREADING_SECRET: SECRET, EMAIL_MESSAGE_ID_DOMAIN: 'mail.wallet.test' } as Config;

/**
 * The escalation consumer against a real Postgres, without Nest or a relay: what a command
 * leaves behind is read straight from messages and the outbox.
 */
describe('EscalationConsumer email_supervisor', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let consumer: EscalationConsumer;
  let teamId: string;
  let contactId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 3 });
    await ds.initialize();
    const outbox = new OutboxService();
    const messages = new MessageRepository(ds);
    consumer = new EscalationConsumer(
      ds,
      new TicketRepository(ds),
      new ConversationRepository(ds),
      outbox,
      new SlaClockService(outbox),
      new AutomaticEmailService(messages, outbox, config),
      pino({ level: 'silent' }),
    );
    [{ id: teamId }] = await ds.query(`INSERT INTO teams (name) VALUES ('Payments') RETURNING id`);
    [{ id: contactId }] = await ds.query(`INSERT INTO contacts (name) VALUES ('Cust') RETURNING id`);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  async function ticket(inboxId: string | null): Promise<{ id: string; number: number }> {
    const [row] = await ds.query(
      `INSERT INTO tickets (subject, team_id, requester_id, channel, inbox_id)
       VALUES ('Card blocked', $1, $2, 'email', $3) RETURNING id, number`,
      [teamId, contactId, inboxId],
    );
    return { id: row.id, number: Number(row.number) };
  }

  const command = (ticketId: string, actions: TicketCommand['actions']): TicketCommand => ({
    v: 1,
    commandId: randomUUID(),
    ticketId,
    reason: 'first_reply breached',
    actions,
    issuedAt: new Date().toISOString(),
  });
  const supervisor = { kind: 'email_supervisor' as const, email: 'lead@wallet.test', message: 'First reply overdue' };
  const result = async (commandId: string) =>
    (await ds.query(`SELECT result FROM applied_ticket_commands WHERE command_id = $1`, [commandId]))[0].result;

  it('skips, and says why, when no enabled email inbox exists', async () => {
    const t = await ticket(null);
    const cmd = command(t.id, [supervisor]);
    expect(await consumer.handle(cmd)).toEqual({ applied: true });
    expect(await result(cmd.commandId)).toEqual([
      { kind: 'email_supervisor', skipped: 'no enabled email inbox to send from' },
    ]);
    expect(await ds.query(`SELECT id FROM messages WHERE ticket_id = $1`, [t.id])).toEqual([]);
  });

  it('stores an internal system message of the ticket and queues its outbound.email job with a signed Message-ID', async () => {
    const [{ id: inboxId }] = await ds.query(
      `INSERT INTO inboxes (name, channel, address, default_team_id) VALUES ('mail', 'email', 'help@wallet.test', $1) RETURNING id`,
      [teamId],
    );
    const t = await ticket(inboxId);
    const cmd = command(t.id, [supervisor]);
    expect(await consumer.handle(cmd)).toEqual({ applied: true });
    const [done] = await result(cmd.commandId);
    expect(done).toEqual({ kind: 'email_supervisor', emailedTo: 'lead@wallet.test', messageId: expect.any(String) });

    const subject = `[SLA] Ticket #${t.number}: first_reply breached`;
    const text = `First reply overdue\n\nTicket #${t.number}: Card blocked\nReason: first_reply breached`;
    const rows = await ds.query(
      `SELECT id, inbox_id, channel, direction, kind, subject, text, metadata, email_message_id, auto_submitted,
              delivery_status, to_identity_id, author_agent_id, author_contact_id, source_time
         FROM messages WHERE ticket_id = $1`,
      [t.id],
    );
    expect(rows).toEqual([
      {
        id: done.messageId,
        inbox_id: inboxId,
        channel: 'email',
        direction: 'internal',
        kind: 'system',
        subject,
        text,
        metadata: { to: 'lead@wallet.test', commandId: cmd.commandId },
        email_message_id: expect.any(String),
        auto_submitted: true,
        delivery_status: 'queued',
        to_identity_id: null,
        author_agent_id: null,
        author_contact_id: null,
        source_time: expect.any(Date),
      },
    ]);
    const [mail] = rows;
    // Signed for this ticket: a reply to the supervisor's mail threads back onto it.
    expect(ticketIdFromEmailMessageId(mail.email_message_id, SECRET)).toBe(t.id);

    const entries = await ds.query(
      `SELECT queue, job_name, job_id, payload FROM outbox WHERE payload->>'ticketId' = $1 ORDER BY id`,
      [t.id],
    );
    expect(entries).toEqual([
      {
        queue: 'outbound.email',
        job_name: JobName.OutboundMessage,
        job_id: `${done.messageId}-0`,
        payload: {
          v: 1,
          messageId: done.messageId,
          ticketId: t.id,
          ticketNumber: t.number,
          inboxId,
          channel: 'email',
          attempt: 0,
          to: { kind: 'email', value: 'lead@wallet.test' },
          cc: [],
          subject,
          text,
          attachments: [],
          email: { messageId: mail.email_message_id, references: [] },
          automatic: true,
          createdAt: mail.source_time.toISOString(),
        },
      },
    ]);
    const payload = entries[0].payload as { email: { messageId: string } };
    expect(ticketIdFromEmailMessageId(payload.email.messageId, SECRET)).toBe(t.id);
    expect(ticketIdFromEmailMessageId(payload.email.messageId, 'another-secret-0123456789abcdef')).toBeNull();

    // A redelivered command writes no second mail.
    expect(await consumer.handle(cmd)).toEqual({ applied: false });
    expect(await ds.query(`SELECT id FROM messages WHERE ticket_id = $1`, [t.id])).toHaveLength(1);
  });
});
