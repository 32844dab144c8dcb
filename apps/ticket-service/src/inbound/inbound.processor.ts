import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  CallLog,
  InboundMessage,
  TextAltered,
  isImmutableStatus,
  maskCardNumbers,
  statusAfterInbound,
} from '@oq/contracts';
import { IngestAuditRow, IngestInboxRow, IngestRepository, MessageLookup, TicketTouch } from '@oq/database';
import { EntityManager } from 'typeorm';
import { ContactResolverService, KnownSender, normalizeIdentity } from '../contacts/contact-resolver.service';
import { OutboxEntry, OutboxService, TicketRef } from '../outbox/outbox.service';
import { SuppressedMailStore, SuppressedOutcome } from '../suppressed-mail/suppressed-mail.store';
import { bracketMessageId, Route, TicketRequest, TicketRouterService } from '../threading/ticket-router.service';
import { IngestChange, IngestHooks } from './ingest-hooks';

export type InboxRow = IngestInboxRow;

export type IngestOutcome =
  | { status: 'created' | 'updated'; ticketId: string; messageId: string; ticketCreated: boolean }
  | { status: 'duplicate'; ticketId: string; messageId: string }
  | { status: 'bounce'; messageId: string }
  /** Filed under suppressed mail instead of a ticket (suppressed-mail/). */
  | SuppressedOutcome
  | { status: 'dead_letter'; reason: string };

/** Rows the batch writes once for all its messages (fewer round trips on the hot path). */
export interface BatchWrites {
  outbox: OutboxEntry[];
  audit: IngestAuditRow[];
}

const MISSED = new Set<CallLog['disposition']>(['missed', 'voicemail', 'busy']);
const SUBJECT_MAX = 200;
/** The tag a ticket opened by mail that named no sender address carries (email `senderHeader: 'none'`). */
export const UNKNOWN_SENDER_TAG = 'unknown-sender';

/** A display name worth keeping: trimmed, and none for blank ones (a blank would block the first real name). */
export function displayNameOf(name: string | undefined): string | undefined {
  const trimmed = name?.trim();
  return trimmed ? trimmed : undefined;
}

/** What the lookup read about the sender's identity (null: it does not exist). */
export function knownSenderOf(found: MessageLookup): KnownSender | null {
  if (!found.identity_id) return null;
  return {
    identityId: found.identity_id,
    contactId: found.contact_id!,
    unnamed: !!found.unnamed,
    linked: found.linked_kind
      ? { kind: found.linked_kind, value: found.linked_value!, contactId: found.linked_contact_id! }
      : null,
  };
}

/** An email whose headers gave no sender address: email-service's placeholder stands in for it. */
export function senderUnknown(msg: InboundMessage): boolean {
  return msg.channel === 'email' && msg.email?.senderHeader === 'none';
}

/** The sender lock key: two first messages of one new customer in one inbox serialise here. */
export function senderLockKey(msg: InboundMessage, s = normalizeIdentity(msg.sender)): string {
  return `${msg.inboxId}|${s.kind}|${s.value}`;
}

/**
 * The advisory lock id for a sender key (64 bits of its sha256). Computed here so the
 * batch can send `SAVEPOINT …; SELECT pg_advisory_xact_lock(<id>)` as one round trip.
 */
export function senderLockId(key: string): string {
  return createHash('sha256').update(key).digest().readBigInt64BE(0).toString();
}

/**
 * Turns one validated InboundMessage into contact, ticket, message, conversation,
 * audit and outbox rows inside the caller's transaction (the batch's SAVEPOINT).
 */
@Injectable()
export class InboundProcessor {
  constructor(
    private readonly contacts: ContactResolverService,
    private readonly router: TicketRouterService,
    private readonly outbox: OutboxService,
    private readonly hooks: IngestHooks,
    private readonly suppressed: SuppressedMailStore,
    private readonly ingest: IngestRepository,
  ) {}

  /** The caller holds the sender's advisory lock (senderLockId) for this transaction. */
  async process(
    manager: EntityManager,
    raw: InboundMessage,
    inbox: InboxRow,
    out: BatchWrites,
    found?: MessageLookup,
  ): Promise<IngestOutcome> {
    const repo = this.ingest.with(manager);
    const msg = maskMessage(raw);
    const sourceTime = sourceTimeOf(msg);

    // Mail kept out of the queue opens no ticket and creates no contact — unless it is on a ticket
    // already (released before this redelivery, or ingested before it was judged): then it is that message.
    if (msg.email?.suppressed) {
      found ??= await repo.lookup(inbox.id, msg.externalId, normalizeIdentity(msg.sender));
      if (found.message_id) return { status: 'duplicate', ticketId: found.ticket_id!, messageId: found.message_id };
      if (msg.email.legacyExternalId) {
        const legacy = await this.legacyMail(repo, inbox.id, msg.email.legacyExternalId, sourceTime);
        if (legacy) return { status: 'duplicate', ticketId: legacy.ticket_id, messageId: legacy.id };
      }
      return this.suppressed.file(manager, msg);
    }

    if (msg.bounce) {
      const bounced = await this.applyBounce(repo, msg, out);
      if (bounced) return bounced;
    }

    // Is this message known, and is its sender (with its link) known? The batch usually read it
    // already, in the round trip that took the sender's lock.
    found ??= await repo.lookup(inbox.id, msg.externalId, normalizeIdentity(msg.sender));
    if (!found.message_id && msg.email?.legacyExternalId) {
      const legacy = await this.legacyMail(repo, inbox.id, msg.email.legacyExternalId, sourceTime);
      if (legacy) return { status: 'duplicate', ticketId: legacy.ticket_id, messageId: legacy.id };
    }
    if (found.message_id) {
      const prev = { id: found.message_id, ticket_id: found.ticket_id!, metadata: found.metadata ?? {} };
      if (msg.revision <= found.revision!) return { status: 'duplicate', ticketId: prev.ticket_id, messageId: prev.id };
      return this.applyRevision(repo, msg, prev, out);
    }

    // The placeholder address of a senderless mail is no person: a name that mail carried is its
    // message's, never the shared placeholder contact's.
    const displayName = senderUnknown(msg) ? undefined : displayNameOf(msg.sender.displayName);
    const sender = await this.contacts.resolveSender(manager, { ...msg.sender, displayName }, knownSenderOf(found));
    const route = await this.router.route(manager, msg, {
      inboxId: inbox.id,
      identityId: sender.identityId,
      contactId: sender.contactId,
      identityCreated: sender.created,
    });

    const { direction, autoSubmitted, missedCall, awaitsReply } = messageFacts(msg);

    const ticket =
      route.kind === 'new'
        ? await this.openTicket(repo, msg, inbox, sender.contactId, route, { missedCall, awaitsReply, sourceTime })
        : this.touchTicket(route, { missedCall, awaitsReply });
    const ref = { id: ticket.id, teamId: ticket.teamId, assigneeId: ticket.assigneeId };

    if (msg.cc.length) await this.addCcs(manager, repo, ticket.id, msg, inbox, sender.contactId);

    // Message, conversation binding and ticket counters/status in one statement (data-modifying CTEs).
    const messageId = await repo.insertMessage(
      {
        ticketId: ticket.id,
        inboxId: inbox.id,
        ...storedContent(msg, route.ticketRequest),
        direction,
        authorContactId: sender.contactId,
        emailMessageId: msg.email?.messageId ? bracketMessageId(msg.email.messageId) : null,
        autoSubmitted,
        sourceTime,
        senderIdentityId: sender.identityId,
        lastInboundAt: direction === 'inbound' ? sourceTime : null,
        senderHeader: msg.channel === 'email' ? (msg.email?.senderHeader ?? null) : null,
      },
      ticket.update,
    );

    if (ticket.created)
      out.outbox.push(
        this.outbox.ticketEvent('ticket.created', ref, {
          number: Number(ticket.number),
          channel: msg.channel,
          priority: ticket.priority,
          requesterId: sender.contactId,
          followUpOfId: route.kind === 'new' ? (route.followUpOfId ?? null) : null,
          via: route.via,
        }),
      );
    out.outbox.push(
      this.outbox.ticketEvent('message.created', ref, {
        messageId,
        direction,
        kind: msg.kind,
        channel: msg.channel,
        autoSubmitted,
      }),
    );
    customerStatusChange(this.outbox, out, ref, ticket.statusFrom, ticket.status, messageId);
    if (ticket.priorityFrom && ticket.priorityFrom !== ticket.priority) {
      out.outbox.push(this.outbox.ticketEvent('ticket.updated', ref, { priority: ticket.priority }));
      out.audit.push({
        ticketId: ticket.id,
        actorType: 'system',
        action: 'priority_raised',
        changes: { priority: [ticket.priorityFrom, ticket.priority], reason: 'missed call', messageId },
      });
    }

    const change: IngestChange = {
      ticketId: ticket.id,
      ticketCreated: ticket.created,
      teamId: ticket.teamId,
      assigneeId: ticket.assigneeId,
      messageId,
      inboxId: inbox.id,
      channel: msg.channel,
      senderIdentityId: sender.identityId,
      senderContactId: sender.contactId,
      sourceTime,
      direction,
      kind: msg.kind,
      awaitsReply,
      statusFrom: ticket.statusFrom,
      statusTo: ticket.status,
      priority: ticket.priority,
      missedCall,
    };
    out.outbox.push(...(await this.hooks.run(manager, change)));
    return { status: 'created', ticketId: ticket.id, messageId, ticketCreated: ticket.created };
  }

  private async openTicket(
    repo: IngestRepository,
    msg: InboundMessage,
    inbox: InboxRow,
    contactId: string,
    route: Extract<Route, { kind: 'new' }>,
    o: { missedCall: boolean; awaitsReply: boolean; sourceTime: Date },
  ) {
    const priority = priorityAfterCall('normal', o.missedCall);
    // A mail that named no sender address says so on its ticket, where agents filter and see tags.
    const tags = senderUnknown(msg) ? [UNKNOWN_SENDER_TAG] : [];
    const t = await repo.openTicket({
      subject: ticketSubject(msg),
      priority,
      teamId: inbox.default_team_id,
      requesterId: contactId,
      channel: msg.channel,
      inboxId: inbox.id,
      followUpOfId: route.followUpOfId ?? null,
      customerMessageCount: o.awaitsReply ? 1 : 0,
      lastCustomerMessageAt: o.awaitsReply ? o.sourceTime : null,
      tags,
      audit: {
        channel: msg.channel,
        via: route.via,
        followUpOfId: route.followUpOfId ?? null,
        priority,
        ...(tags.length ? { tags } : {}),
      },
    });
    return {
      id: t.id,
      number: t.number,
      status: t.status,
      priority: t.priority,
      teamId: t.team_id,
      assigneeId: t.assignee_id,
      created: true,
      statusFrom: null as string | null,
      priorityFrom: null as string | null,
      update: null as TicketTouch | null,
    };
  }

  /** Customer activity on an existing ticket: counters, reopen, missed-call priority (written with the message). */
  private touchTicket(route: Extract<Route, { kind: 'existing' }>, o: { missedCall: boolean; awaitsReply: boolean }) {
    const t = route.ticket;
    // Routing never lands a message on a closed ticket (a linked follow-up instead); this reopens
    // pending, on_hold and solved for a message that waits for an answer (not an auto-reply).
    const status = o.awaitsReply ? statusAfterInbound(t.status) : t.status;
    const reopen = status !== t.status;
    const priority = priorityAfterCall(t.priority, o.missedCall);
    const raise = priority !== t.priority;
    const update: TicketTouch = { status, priority, reopen, customer: o.awaitsReply, bumpVersion: reopen || raise };
    return {
      id: t.id,
      number: t.number,
      status,
      priority,
      teamId: t.team_id,
      assigneeId: t.assignee_id,
      created: false,
      statusFrom: t.status as string | null,
      priorityFrom: t.priority as string | null,
      update: update as TicketTouch | null,
    };
  }

  /** Email To/CC people become CC participants (never our own mailbox or the sender). */
  private async addCcs(
    manager: EntityManager,
    repo: IngestRepository,
    ticketId: string,
    msg: InboundMessage,
    inbox: InboxRow,
    sender: string,
  ) {
    const own = inbox.address.trim().toLowerCase();
    const ids: string[] = [];
    for (const cc of msg.cc) {
      if (cc.kind === 'email' && cc.value.trim().toLowerCase() === own) continue;
      const c = await this.contacts.findOrCreate(manager, cc, { name: displayNameOf(cc.displayName) });
      if (c.contactId !== sender) ids.push(c.contactId);
    }
    if (ids.length) await repo.addCcParticipants(ticketId, ids);
  }

  /** A higher revision (edit, late recording, transcript) updates the stored message in place. */
  private async applyRevision(
    repo: IngestRepository,
    msg: InboundMessage,
    prev: { id: string; ticket_id: string; metadata: Record<string, unknown> },
    out: BatchWrites,
  ): Promise<IngestOutcome> {
    await repo.reviseMessage({
      messageId: prev.id,
      revision: msg.revision,
      text: messageText(msg),
      html: msg.html ?? null,
      attachments: messageAttachments(msg),
      // Where the call was routed (the first revision's decision) stays with the message.
      metadata: messageMetadata(msg, prev.metadata?.ticketRequest as TicketRequest | undefined),
      subject: msg.subject ?? null,
      // The name it first came with stays; a revision only fills one it lacked.
      senderName: displayNameOf(msg.sender.displayName) ?? null,
    });
    const t = await repo.lockTicket(prev.ticket_id);
    const ref = { id: t.id, teamId: t.team_id, assigneeId: t.assignee_id };
    out.outbox.push(this.outbox.ticketEvent('message.updated', ref, { messageId: prev.id, revision: msg.revision }));

    // A call first reported as ringing/answered and later as missed still needs its call back.
    const before = (prev.metadata?.call as { disposition?: CallLog['disposition'] } | undefined)?.disposition;
    const nowMissed =
      msg.call &&
      msg.call.direction === 'inbound' &&
      msg.sender.kind !== 'anonymous' &&
      MISSED.has(msg.call.disposition) &&
      !(before && MISSED.has(before));
    if (nowMissed && !isImmutableStatus(t.status) && (t.priority === 'low' || t.priority === 'normal')) {
      await repo.raisePriorityForMissedCall(t.id);
      out.outbox.push(this.outbox.ticketEvent('ticket.updated', ref, { priority: 'high' }));
      out.audit.push({
        ticketId: t.id,
        actorType: 'system',
        action: 'priority_raised',
        changes: { priority: [t.priority, 'high'], reason: 'missed call', messageId: prev.id },
      });
    }
    return { status: 'updated', ticketId: t.id, messageId: prev.id, ticketCreated: false };
  }

  /** A delivery-status report fails the outbound message it names; unknown originals fall through as mail. */
  private async applyBounce(
    repo: IngestRepository,
    msg: InboundMessage,
    out: BatchWrites,
  ): Promise<IngestOutcome | null> {
    const bounce = msg.bounce!;
    const m = await repo.findBouncedMessage(bracketMessageId(bounce.originalMessageId));
    if (!m) return null;
    // Forward-only: a message already read stays read; failed stays failed.
    if (m.delivery_status !== 'read' && m.delivery_status !== 'failed') {
      await repo.failBounced(m.id, bounce.diagnostic);
      out.outbox.push(
        this.outbox.ticketEvent(
          'message.delivery',
          { id: m.ticket_id, teamId: m.team_id, assigneeId: m.assignee_id },
          { messageId: m.id, status: 'failed', reason: bounce.diagnostic, from: m.delivery_status },
        ),
      );
    }
    return { status: 'bounce', messageId: m.id };
  }

  /**
   * Mail imported before ids carried a content hash (a bare Message-ID, or the raw source's sha256):
   * a resync after the upgrade finds it instead of importing the mailbox again. A raw-source hash is
   * the same mail for sure; a bare Message-ID only with the same IMAP INTERNALDATE, which a resync or
   * a copy to another folder keeps and a different mail reusing the Message-ID does not have.
   * One indexed read, only for mail no current id matched.
   */
  private legacyMail(
    repo: IngestRepository,
    inboxId: string,
    legacyId: string,
    sourceTime: Date,
  ): Promise<{ id: string; ticket_id: string } | undefined> {
    const exact = legacyId.startsWith('sha256:');
    return repo.findLegacyMail(inboxId, legacyId, exact ? null : sourceTime);
  }
}

/** What kind of customer activity a message is, on either ingest path. */
export function messageFacts(msg: InboundMessage): {
  direction: 'inbound' | 'outbound';
  autoSubmitted: boolean;
  missedCall: boolean;
  awaitsReply: boolean;
} {
  const direction = msg.kind === 'call_log' && msg.call?.direction === 'outbound' ? 'outbound' : 'inbound';
  const autoSubmitted = Boolean(msg.email?.autoSubmitted || msg.bounce);
  // A withheld caller cannot be called back or answered: logged, but no call-back or reply clock.
  const reachable = msg.sender.kind !== 'anonymous';
  const missedCall = direction === 'inbound' && reachable && !!msg.call && MISSED.has(msg.call.disposition);
  const awaitsReply = direction === 'inbound' && reachable && !autoSubmitted;
  return { direction, autoSubmitted, missedCall, awaitsReply };
}

/** A missed call makes a low or normal ticket high: it needs a call back. */
export function priorityAfterCall(priority: string, missedCall: boolean): string {
  return missedCall && (priority === 'low' || priority === 'normal') ? 'high' : priority;
}

/** A customer's message moved the ticket's status: the event and the audit row, on either ingest path. */
export function customerStatusChange(
  outbox: OutboxService,
  out: BatchWrites,
  ref: TicketRef,
  from: string | null | undefined,
  to: string,
  messageId: string,
): void {
  if (!from || from === to) return;
  out.outbox.push(outbox.ticketEvent('ticket.status_changed', ref, { from, to }));
  out.audit.push({
    ticketId: ref.id,
    actorType: 'customer',
    action: 'status_changed',
    changes: { status: [from, to], messageId },
  });
}

/** Card numbers never reach the database: subject, text, HTML and call transcripts are masked. */
export function maskMessage(msg: InboundMessage): InboundMessage {
  return {
    ...msg,
    subject: msg.subject === undefined ? undefined : maskCardNumbers(msg.subject),
    text: maskCardNumbers(msg.text),
    html: msg.html === undefined ? undefined : maskCardNumbers(msg.html),
    call: msg.call?.transcript ? { ...msg.call, transcript: maskCardNumbers(msg.call.transcript) } : msg.call,
  };
}

/** The message's source time, capped at now: a customer's clock ahead of ours never dates it in the future. */
export function sourceTimeOf(msg: InboundMessage): Date {
  return new Date(Math.min(Date.parse(msg.sourceTime), Date.now()));
}

/** The columns a message stores as it came, on either ingest path. */
export function storedContent(msg: InboundMessage, ticketRequest?: TicketRequest) {
  return {
    channel: msg.channel,
    kind: msg.kind,
    externalId: msg.externalId,
    revision: msg.revision,
    subject: msg.subject ?? null,
    text: messageText(msg),
    html: msg.html ?? null,
    attachments: messageAttachments(msg),
    metadata: messageMetadata(msg, ticketRequest),
    // The name and address this message came with (the contact's name may differ, and stays).
    senderName: displayNameOf(msg.sender.displayName) ?? null,
    senderAddress: msg.sender.value,
  };
}

export function messageText(msg: InboundMessage): string {
  if (msg.text || !msg.call) return msg.text;
  return msg.call.transcript ?? describeCall(msg.call);
}

export function messageAttachments(msg: InboundMessage) {
  return msg.call?.recording ? [...msg.attachments, msg.call.recording] : msg.attachments;
}

export function messageMetadata(msg: InboundMessage, ticketRequest?: TicketRequest): Record<string, unknown> {
  const meta: Record<string, unknown> = { ...msg.metadata, receivedAt: msg.receivedAt };
  // The originals are kept as bytes in message_originals; the message says only which fields changed.
  const altered = msg.metadata.textAltered as TextAltered | undefined;
  if (altered) meta.textAltered = { fields: altered.fields };
  if (ticketRequest) meta.ticketRequest = ticketRequest;
  if (msg.call) meta.call = msg.call;
  if (msg.email)
    meta.email = {
      inReplyTo: msg.email.inReplyTo,
      references: msg.email.references,
      autoSubmitted: msg.email.autoSubmitted,
    };
  if (msg.cc.length) meta.cc = msg.cc;
  if (msg.bounce) meta.bounce = msg.bounce;
  return meta;
}

function describeCall(call: CallLog): string {
  const who = call.direction === 'inbound' ? `from ${call.from}` : `to ${call.to}`;
  const mins = Math.floor(call.durationSec / 60);
  const secs = call.durationSec % 60;
  return `${call.direction === 'inbound' ? 'Inbound' : 'Outbound'} call ${who}: ${call.disposition}${
    call.durationSec ? `, ${mins}m ${secs}s` : ''
  }`;
}

export function ticketSubject(msg: InboundMessage): string {
  if (msg.call) {
    const number =
      msg.call.direction === 'outbound'
        ? msg.call.to
        : msg.sender.kind === 'anonymous'
          ? 'a withheld number'
          : msg.call.from;
    if (msg.call.direction === 'inbound' && MISSED.has(msg.call.disposition)) return `Missed call from ${number}`;
    return `${msg.call.direction === 'inbound' ? 'Call from' : 'Call to'} ${number}`;
  }
  const subject = msg.subject?.trim();
  if (subject) return subject.slice(0, SUBJECT_MAX);
  const firstLine = msg.text.trim().split('\n')[0] ?? '';
  if (firstLine) return firstLine.length > 80 ? `${firstLine.slice(0, 79)}…` : firstLine;
  return msg.attachments.length ? `${msg.channel}: ${msg.attachments[0].filename}` : `New ${msg.channel} message`;
}
