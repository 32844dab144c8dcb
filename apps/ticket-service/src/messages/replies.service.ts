import { randomUUID } from 'node:crypto';
import { ConflictException, Inject, Injectable, UnprocessableEntityException } from '@nestjs/common';
import {
  AttachmentRef,
  Channel,
  JobName,
  QueueName,
  checkPlatformRules,
  containsCardNumber,
  isImmutableStatus,
  outboundJobId,
  replySubject,
  statusAfterFirstReply,
} from '@oq/contracts';
import { ConversationRepository, MessageRepository, TicketRepository, type TicketRow } from '@oq/database';
import { CONFIG } from '@oq/platform';
import sanitizeHtml from 'sanitize-html';
import { DataSource, EntityManager } from 'typeorm';
import { AttachmentsService } from '../attachments/attachments.service';
import { Config } from '../config';
import { EmailEnvelope, emailEnvelope } from '../outbox/automatic-email.service';
import { OutboxEntry, OutboxService } from '../outbox/outbox.service';
import { SlaClockService } from '../sla/sla-clock.service';
import { toMessageView } from '../tickets/ticket.view';
import { TicketsService, assertTransition, identityKindsFor } from '../tickets/tickets.service';
import { Viewer } from '../permissions/ticket-visibility';
import { CreateMessageBody } from './message.dto';

/** Which channel service delivers a channel's replies. */
export function outboundQueueFor(channel: Channel): QueueName | null {
  switch (channel) {
    case 'email':
      return QueueName.OutboundEmail;
    case 'whatsapp':
    case 'messenger':
    case 'instagram':
    case 'telegram':
      return QueueName.OutboundSocial;
    case 'chat':
      return QueueName.OutboundChat;
    case 'voice':
      return null;
  }
}

/** A message about to be written: who, on which (locked) ticket, what (text resolved, HTML sanitized). */
interface Draft {
  viewer: Viewer;
  t: TicketRow;
  body: CreateMessageBody & { text: string };
  html: string | null;
  attachments: AttachmentRef[];
}

interface Route {
  inbox: { id: string; channel: Channel; address: string };
  identity: { id: string; kind: string; value: string };
}

/**
 * Agent replies and internal notes. A reply is stored as an outbound message
 * (queued) and its delivery job is written to the outbox in the same
 * transaction: the job exists exactly when the message does.
 */
@Injectable()
export class RepliesService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    private readonly ticketRepo: TicketRepository,
    private readonly messages: MessageRepository,
    private readonly conversations: ConversationRepository,
    @Inject(CONFIG) private readonly config: Config,
    private readonly outbox: OutboxService,
    private readonly tickets: TicketsService,
    private readonly sla: SlaClockService,
    private readonly attachments: AttachmentsService,
  ) {}

  async create(viewer: Viewer, ticketId: string, body: CreateMessageBody) {
    // An agent's text is never altered: with a card number in it, it is refused, so no PAN is stored or sent.
    if ([body.text, body.html, ...(body.template?.parameters ?? [])].some((t) => t && containsCardNumber(t)))
      throw unprocessable(
        'The message contains a card number. Card numbers are never stored or sent: remove it, or give only its last four digits.',
        'card_number_in_reply',
      );
    const messageId = await this.ds.transaction(async (m) => {
      const t = await this.tickets.findVisible(viewer, ticketId, m, true);
      if (isImmutableStatus(t.status))
        throw new ConflictException({
          statusCode: 409,
          message: `ticket #${t.number} is closed; closed tickets are immutable (open a new ticket for the customer)`,
          reason: 'closed',
        });
      const attachments = await this.attachments.attachable(m, viewer, body.attachments);
      const html = body.html === undefined ? null : sanitizeHtml(body.html);
      // A template's text lives at Meta: the timeline shows which template went out with which values.
      const text = body.template ? templateSummary(body.template) : (body.text ?? '');
      const draft = { viewer, t, body: { ...body, text }, html, attachments };
      return body.kind === 'note' ? this.note(m, draft) : this.reply(m, draft);
    });
    const row = await this.messages.byId(messageId);
    return toMessageView(row!);
  }

  private async note(m: EntityManager, { viewer, t, body, html, attachments }: Draft): Promise<string> {
    const noteId = await this.messages.with(m).insertNote({
      ticketId: t.id,
      authorAgentId: viewer.id,
      text: body.text,
      html,
      attachments,
    });
    const events = await this.applyStatus(m, viewer, t, body.status ?? t.status, { noteId });
    events.push(
      this.outbox.ticketEvent('message.created', ref(t), { messageId: noteId, direction: 'internal', kind: 'note' }),
    );
    await this.outbox.write(m, events);
    return noteId;
  }

  private async reply(m: EntityManager, { viewer, t, body, html, attachments }: Draft): Promise<string> {
    const route = await this.route(m, viewer, t, body);
    const channel = route.inbox.channel;
    const messageId = randomUUID();
    const number = Number(t.number);
    const now = new Date();
    const conversations = this.conversations.with(m);

    const lastInboundAt = (await conversations.lastInboundAt(route.inbox.id, route.identity.id))?.toISOString();
    // Meta's rules (24-hour window, template/tag, length) checked now, so the agent gets the reason
    // as a 422 instead of a failed message; social-service checks again when it sends.
    if (outboundQueueFor(channel) === QueueName.OutboundSocial || body.template || body.messageTag) {
      const violation = checkPlatformRules(
        {
          channel,
          text: body.text,
          attachments,
          template: body.template,
          messageTag: body.messageTag,
          conversation: { lastInboundAt },
        },
        now,
      );
      if (violation) throw unprocessable(violation.reason, violation.code);
    }

    let email: EmailEnvelope | undefined;
    let subject: string | undefined;
    let cc: { kind: 'email'; value: string }[] = [];
    if (channel === 'email') {
      // Thread on every Message-ID the ticket has seen or sent, oldest first; reply to the latest.
      const ids = await this.messages.with(m).emailMessageIds(t.id);
      email = emailEnvelope(this.config, { ticketId: t.id, id: messageId }, { inReplyTo: ids.at(-1), references: ids });
      subject = replySubject(t.subject, number);
      cc = (await this.ticketRepo.with(m).ccEmails(t.id, route.identity.value)).map((value) => ({
        kind: 'email' as const,
        value,
      }));
    }

    await this.messages.with(m).insertReply({
      id: messageId,
      ticketId: t.id,
      inboxId: route.inbox.id,
      channel,
      authorAgentId: viewer.id,
      toIdentityId: route.identity.id,
      subject: subject ?? null,
      text: body.text,
      html,
      attachments,
      metadata: {
        ...(email && { inReplyTo: email.inReplyTo ?? null, references: email.references, cc }),
        ...(body.template && { template: body.template }),
        ...(body.messageTag && { messageTag: body.messageTag }),
      },
      emailMessageId: email?.messageId ?? null,
      sourceTime: now,
    });
    // Sending on a pair binds that conversation to this ticket: the customer's answer lands here.
    await conversations.bindToTicket(route.inbox.id, route.identity.id, t.id);
    await this.ticketRepo.with(m).recordAgentReply(t.id, now);
    await this.sla.onAgentPublicReply(m, t.id, now); // fulfils first_reply / next_reply in this transaction
    // The first agent reply moves new → open unless the agent chose a status.
    const status = body.status ?? statusAfterFirstReply(t.status);
    const events = await this.applyStatus(m, viewer, t, status, {
      replyId: messageId,
      channel,
      inboxId: route.inbox.id,
    });
    events.push(
      this.outbox.ticketEvent('message.created', ref(t), {
        messageId,
        direction: 'outbound',
        kind: 'message',
        channel,
      }),
      this.outbox.job(
        outboundQueueFor(channel)!,
        JobName.OutboundMessage,
        {
          v: 1,
          messageId,
          ticketId: t.id,
          ticketNumber: number,
          inboxId: route.inbox.id,
          channel,
          attempt: 0,
          to: { kind: route.identity.kind as 'email', value: route.identity.value },
          cc,
          subject,
          text: body.text,
          html: html ?? undefined,
          attachments,
          email,
          template: body.template,
          messageTag: body.messageTag,
          // Social channels enforce Meta's 24-hour window from this.
          conversation: { lastInboundAt },
          createdAt: now.toISOString(),
        },
        { jobId: outboundJobId(messageId, 0) },
      ),
    );
    await this.outbox.write(m, events);
    return messageId;
  }

  /** Status change riding on a reply or note: audited, versioned and announced like a PATCH. */
  private async applyStatus(
    m: EntityManager,
    viewer: Viewer,
    t: TicketRow,
    status: string,
    audit: Record<string, unknown>,
  ): Promise<OutboxEntry[]> {
    const action = 'replyId' in audit ? 'replied' : 'noted';
    const tickets = this.ticketRepo.with(m);
    if (status === t.status) {
      await tickets.touch(t.id);
      await tickets.writeAudit(t.id, viewer.id, action, audit);
      return [];
    }
    // A reply without a status only ever makes the first-reply move (new → open), which the reply edges include.
    assertTransition(t.status, status, Number(t.number), 'reply');
    await tickets.changeStatus(t.id, status);
    await this.sla.onStatusChange(m, t.id, t.status, status); // SLA clocks move with the status
    await tickets.writeAudit(t.id, viewer.id, action, { ...audit, status: [t.status, status] });
    return [
      this.outbox.ticketEvent('ticket.status_changed', ref(t), { from: t.status, to: status, byAgentId: viewer.id }),
    ];
  }

  /**
   * Which inbox and customer identity a reply goes to: the chosen inbox, else the
   * ticket's inbox when the channel is the ticket's, else the inbox the customer
   * last talked to on that channel, else the channel's first enabled inbox.
   */
  private async route(m: EntityManager, viewer: Viewer, t: TicketRow, body: CreateMessageBody): Promise<Route> {
    const conversations = this.conversations.with(m);
    let inbox: Route['inbox'] | undefined;
    if (body.inboxId) {
      inbox = await conversations.enabledInbox(body.inboxId);
      if (!inbox) throw unprocessable(`inbox ${body.inboxId} does not exist or is disabled`, 'unknown_inbox');
      if (body.channel && body.channel !== inbox.channel)
        throw unprocessable(
          `inbox ${body.inboxId} is a ${inbox.channel} inbox, not ${body.channel}`,
          'channel_mismatch',
        );
    }
    const channel = (inbox?.channel ?? body.channel ?? t.channel) as Channel;
    if (channel === 'voice')
      throw unprocessable(
        'voice has no outbound messages: reply on another channel the customer uses (channel or inboxId), or log the call-back as a call',
        'voice_no_outbound',
      );
    const kinds = identityKindsFor(channel);
    // Only identities the agent may see (the one visibility rule): replying on another team's
    // WhatsApp id would hand it over, since a sent reply puts the identity on this ticket.
    const identities = await conversations.replyIdentities(viewer, {
      contactId: t.requester_id,
      kinds,
      channel,
      ticketId: t.id,
    });
    // The same answer whether the customer has no such identity or only one this agent cannot see.
    if (!identities.length)
      throw unprocessable(
        `the customer has no ${kinds.join('/')} identity: choose a channel on which they can be reached`,
        'no_identity_on_channel',
      );
    if (!inbox) {
      const preferred = [t.channel === channel ? t.inbox_id : null, ...identities.map((i) => i.inbox_id)].filter(
        (id): id is string => Boolean(id),
      );
      const found = await conversations.preferredInbox(channel, preferred);
      if (!found) throw unprocessable(`there is no enabled ${channel} inbox to send from`, 'no_inbox');
      inbox = found;
    }
    const identity = identities.find((i) => i.inbox_id === inbox!.id) ?? identities[0];
    return { inbox, identity };
  }
}

/** What the timeline shows for a template reply, e.g. `WhatsApp template refund_update (en_US): €42.00 | Nov 25`. */
export function templateSummary(t: { name: string; language: string; parameters: string[] }): string {
  return `WhatsApp template ${t.name} (${t.language})${t.parameters.length ? `: ${t.parameters.join(' | ')}` : ''}`;
}

function ref(t: TicketRow) {
  return { id: t.id, teamId: t.team_id, assigneeId: t.assignee_id };
}

function unprocessable(message: string, reason: string) {
  return new UnprocessableEntityException({ statusCode: 422, message, reason });
}
