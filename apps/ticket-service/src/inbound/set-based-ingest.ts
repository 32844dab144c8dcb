import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  IdentityRef,
  InboundMessage,
  TextAltered,
  VERIFIED_IDENTITY_KINDS,
  acceptsInbound,
  statusAfterInbound,
} from '@oq/contracts';
import {
  BatchConversation,
  BatchLookupRow,
  BatchNewMessage,
  BatchNewSender,
  BatchNewTicket,
  BatchTicketTouch,
  IngestBatchRepository,
  RoutedTicketRow,
} from '@oq/database';
import { LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { EntityManager } from 'typeorm';
import { linkRecorded, senderLinks } from '../contacts/contact-resolver.service';
import { OutboxService } from '../outbox/outbox.service';
import { IngestChange, IngestHooks } from './ingest-hooks';
import {
  BatchWrites,
  IngestOutcome,
  customerStatusChange,
  displayNameOf,
  knownSenderOf,
  maskMessage,
  sourceTimeOf,
  storedContent,
  ticketSubject,
} from './inbound.processor';

/** One message of a batch, as the consumer holds it. */
export interface BatchItem {
  msg: InboundMessage;
  /** The normalised sender. */
  sender: IdentityRef;
  /** The sender lock key: messages with one key apply in batch order. */
  key: string;
  outcome?: IngestOutcome;
}

/** The savepoint the set-based writes roll back to when one of their statements fails. */
export const SET_SAVEPOINT = 'inbound_set';

/**
 * Why a message takes the per-message path (InboundProcessor) rather than the set-based writes, or
 * null. The set-based path is the common case — a customer message on a messaging channel — and
 * everything with more to decide goes one by one: mail (threading, suppression, bounces, CCs,
 * acknowledgements), calls (call routing, priorities), originals kept as bytes, and text Postgres
 * would refuse (a NUL), which then fails alone.
 */
export function perMessageReason(msg: InboundMessage): string | null {
  if (msg.channel === 'email' || msg.email || msg.bounce) return 'email';
  if (msg.channel === 'voice' || msg.kind !== 'message' || msg.call) return 'call';
  if (msg.cc.length) return 'cc';
  if ((msg.metadata.textAltered as TextAltered | undefined)?.original) return 'originals';
  if (msg.sender.kind === 'anonymous') return 'anonymous';
  if (JSON.stringify(msg).includes('\\u0000')) return 'nul';
  return null;
}

/** A sender key's messages, in batch order, and what the set-based path decided for them. */
interface Group {
  items: BatchItem[];
  lookups: BatchLookupRow[];
  identityId: string;
  contactId: string;
  /** The sender's identity (and contact) is new: this batch creates it. */
  newSender: BatchNewSender | null;
  /** A new sender's one link (a wa_id's phone): joined when it exists, else made on the new contact. */
  link: IdentityRef | null;
  ticket: RoutedTicketRow | null;
}

/**
 * The set-based ingest of a batch: validate every message first, then write them with one
 * statement per table (IngestBatchRepository) instead of a round trip per message. Same outcome,
 * rows and events as InboundProcessor for the messages it takes; a sender's messages apply in batch
 * order (the first of a new sender creates its contact, identity and ticket, the rest land on it).
 * Whatever it does not take, or all of the batch when one of its statements fails, is left for
 * the per-message path.
 */
@Injectable()
export class SetBasedIngest {
  constructor(
    private readonly batches: IngestBatchRepository,
    private readonly outbox: OutboxService,
    private readonly hooks: IngestHooks,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Ingests what it can of `items` (their inboxes checked, every sender's lock held, the
   * SET_SAVEPOINT taken, `lookups[i]` read for `items[i]` after the locks); sets their outcomes
   * and adds their audit and outbox rows to `writes`. Returns the items left for the per-message
   * path, in batch order.
   */
  async ingest<T extends BatchItem>(
    m: EntityManager,
    items: T[],
    lookups: (BatchLookupRow | undefined)[],
    writes: BatchWrites,
  ): Promise<T[]> {
    const groups = new Map<string, Group | null>();
    const externalIds = new Map<string, number>();
    for (const item of items) {
      const id = `${item.msg.inboxId}|${item.msg.externalId}`;
      externalIds.set(id, (externalIds.get(id) ?? 0) + 1);
    }
    items.forEach((item, i) => {
      const found = lookups[i];
      const group = groups.get(item.key);
      if (group === null) return;
      // Two revisions of one message, a revision of a stored one, anything the processor must decide:
      // the sender's messages all go one by one, in order.
      const takes =
        !!found &&
        found.inbox !== null &&
        !perMessageReason(item.msg) &&
        externalIds.get(`${item.msg.inboxId}|${item.msg.externalId}`) === 1 &&
        (!found.message_id || item.msg.revision <= found.revision!);
      if (!takes) return void groups.set(item.key, null);
      if (group) {
        group.items.push(item);
        group.lookups.push(found);
      } else
        groups.set(item.key, {
          items: [item],
          lookups: [found],
          identityId: '',
          contactId: '',
          newSender: null,
          link: null,
          ticket: null,
        });
    });

    const taken = [...groups.values()].filter((g): g is Group => g !== null);
    if (!taken.length) return items;
    const local: BatchWrites = { outbox: [], audit: [] };
    const repo = this.batches.with(m);
    try {
      const done = await this.write(m, repo, taken, local);
      writes.outbox.push(...local.outbox);
      writes.audit.push(...local.audit);
      for (const [item, outcome] of done) item.outcome = outcome;
      return items.filter((item) => !item.outcome);
    } catch (err) {
      // One statement failed (a message Postgres refused, a race with a writer outside ingest):
      // nothing of the set-based writes stays, and every message goes the per-message way.
      await repo.rollbackTo(SET_SAVEPOINT);
      this.logger.warn(
        { err: (err as Error).message, code: (err as { code?: string }).code, jobs: items.length },
        'set-based ingest failed; the batch goes message by message',
      );
      return items;
    }
  }

  /**
   * New senders with one link, as ContactResolverService.resolveSender would have them: the link
   * exists → the sender's identity joins its contact; it does not → it is made on the new contact.
   * Either way the sender's identity records it (linked_identity_id). One read for the batch. A link
   * two new senders of the batch share, or that is itself a sender of the batch, goes per message.
   * Returns the link identities to create, per group.
   */
  private async resolveLinks(repo: IngestBatchRepository, groups: Group[]): Promise<Map<Group, BatchNewSender[]>> {
    const out = new Map<Group, BatchNewSender[]>();
    const key = (r: { kind: string; value: string }): string => `${r.kind}|${r.value}`;
    const senders = new Set(groups.filter((g) => g.items.length).map((g) => key(g.items[0].sender)));
    const linking = groups.filter((g) => g.items.length && g.newSender && g.link);
    const uses = new Map<string, number>();
    for (const g of linking) uses.set(key(g.link!), (uses.get(key(g.link!)) ?? 0) + 1);
    const taken = linking.filter((g) => {
      if (uses.get(key(g.link!)) === 1 && !senders.has(key(g.link!))) return true;
      g.items = [];
      return false;
    });
    if (!taken.length) return out;
    const found = new Map((await repo.findIdentities(taken.map((g) => g.link!))).map((r) => [key(r), r] as const));
    for (const g of taken) {
      const link = g.link!;
      const existing = found.get(key(link));
      const sender = g.newSender!;
      if (existing) {
        // The customer we know by this phone: the new identity is theirs (their contact keeps its name).
        g.contactId = existing.contact_id;
        sender.contactId = existing.contact_id;
        sender.newContact = false;
        sender.linkedIdentityId = existing.id;
        continue;
      }
      const linkId = randomUUID();
      sender.linkedIdentityId = linkId;
      out.set(g, [
        {
          contactId: g.contactId,
          identityId: linkId,
          name: null,
          kind: link.kind,
          value: link.value,
          verified: VERIFIED_IDENTITY_KINDS.includes(link.kind),
          linkedIdentityId: null,
          newContact: false,
        },
      ]);
    }
    return out;
  }

  private async write(
    m: EntityManager,
    repo: IngestBatchRepository,
    groups: Group[],
    out: BatchWrites,
  ): Promise<Map<BatchItem, IngestOutcome>> {
    const done = new Map<BatchItem, IngestOutcome>();
    // Duplicates write nothing: the stored message stands (InboundProcessor's answer for a revision ≤ the stored one).
    for (const g of groups)
      for (let i = g.items.length - 1; i >= 0; i--) {
        const found = g.lookups[i];
        if (found.message_id) {
          done.set(g.items[i], { status: 'duplicate', ticketId: found.ticket_id!, messageId: found.message_id });
          g.items.splice(i, 1);
          g.lookups.splice(i, 1);
        }
      }
    // Senders and routing, decided before anything is written: a known sender whose links the channel
    // changed, a new sender with several links (merges, suggestions) or a conversation on a closed or
    // merged ticket (follow-ups) goes the per-message way with all its messages.
    const names: { contactId: string; name: string }[] = [];
    const candidates = groups.filter((g) => g.items.length);
    for (const g of candidates) {
      const first = g.items[0];
      const known = knownSenderOf(g.lookups[0]);
      const linked = senderLinks(first.msg.sender);
      if (known ? !linkRecorded(known, linked) : linked.length > 1) {
        g.items = [];
        continue;
      }
      g.link = known ? null : (linked[0] ?? null);
      const name = g.items.map((it) => displayNameOf(it.msg.sender.displayName)).find((n) => n !== undefined) ?? null;
      if (known) {
        g.identityId = known.identityId;
        g.contactId = known.contactId;
        if (known.unnamed && name) names.push({ contactId: known.contactId, name });
      } else {
        g.contactId = randomUUID();
        g.identityId = randomUUID();
        g.newSender = {
          contactId: g.contactId,
          identityId: g.identityId,
          name,
          kind: first.sender.kind,
          value: first.sender.value,
          verified: VERIFIED_IDENTITY_KINDS.includes(first.sender.kind),
          linkedIdentityId: null,
          newContact: true,
        };
      }
    }
    const links = await this.resolveLinks(repo, candidates);
    const known = candidates.filter((g) => g.items.length && !g.newSender);
    const bound = new Map(
      (
        await repo.conversationTickets(
          known.map((g) => ({ inboxId: g.items[0].msg.inboxId, identityId: g.identityId })),
        )
      ).map((t) => [`${t.inbox_id}|${t.identity_id}`, t] as const),
    );
    for (const g of known) {
      const t = bound.get(`${g.items[0].msg.inboxId}|${g.identityId}`);
      if (t && (t.merged_into_id || !acceptsInbound(t.status))) g.items = [];
      else g.ticket = t ?? null;
    }
    const writing = candidates.filter((g) => g.items.length);
    if (!writing.length) return done;
    await repo.createSenders([
      ...writing.flatMap((g) => (g.newSender ? [g.newSender] : [])),
      ...writing.flatMap((g) => links.get(g) ?? []),
    ]);
    await repo.nameUnnamed(names.filter((n) => writing.some((g) => g.contactId === n.contactId)));

    // Masked once, with one capped source time per message (the ticket's and the message's are the same).
    const prepared = new Map(
      writing.flatMap((g) =>
        g.items.map((item) => {
          const msg = maskMessage(item.msg);
          return [item, { msg, sourceTime: sourceTimeOf(msg) }] as const;
        }),
      ),
    );

    // New tickets: one per group without one, opened by its first message.
    const opening: { g: Group; ticket: BatchNewTicket }[] = [];
    for (const g of writing) {
      if (g.ticket) continue;
      const { msg, sourceTime } = prepared.get(g.items[0])!;
      const inbox = g.lookups[0].inbox!;
      opening.push({
        g,
        ticket: {
          id: randomUUID(),
          subject: ticketSubject(msg),
          priority: 'normal',
          teamId: inbox.default_team_id,
          requesterId: g.contactId,
          channel: msg.channel,
          inboxId: inbox.id,
          customerMessageCount: 1,
          lastCustomerMessageAt: sourceTime,
          audit: { channel: msg.channel, via: 'new_conversation', followUpOfId: null, priority: 'normal' },
        },
      });
    }
    const opened = new Map((await repo.openTickets(opening.map((o) => o.ticket))).map((t) => [t.id, t] as const));

    // Messages in batch order; a ticket's status and counters move as they would one message at a time.
    const messages: BatchNewMessage[] = [];
    const conversations = new Map<string, BatchConversation>();
    const touches = new Map<string, BatchTicketTouch>();
    const events: { item: BatchItem; change: IngestChange; created: boolean; number: string; via: string }[] = [];
    for (const g of writing) {
      const open = opening.find((o) => o.g === g);
      const row = open ? opened.get(open.ticket.id)! : g.ticket!;
      let status = row.status;
      g.items.forEach((item, i) => {
        const { msg, sourceTime } = prepared.get(item)!;
        const inbox = g.lookups[i].inbox!;
        const created = !!open && i === 0;
        const statusFrom = created ? null : status;
        if (!created) {
          status = statusAfterInbound(status);
          const touch = touches.get(row.id) ?? {
            id: row.id,
            status,
            priority: row.priority,
            reopen: false,
            customerMessages: 0,
            lastCustomerMessageAt: null,
            bumpVersion: false,
          };
          const reopen = status !== statusFrom;
          touch.status = status;
          touch.reopen ||= reopen;
          touch.bumpVersion ||= reopen;
          touch.customerMessages++;
          if (!touch.lastCustomerMessageAt || touch.lastCustomerMessageAt < sourceTime)
            touch.lastCustomerMessageAt = sourceTime;
          touches.set(row.id, touch);
        }
        const messageId = randomUUID();
        messages.push({
          id: messageId,
          ticketId: row.id,
          inboxId: inbox.id,
          ...storedContent(msg),
          direction: 'inbound',
          authorContactId: g.contactId,
          emailMessageId: null,
          autoSubmitted: false,
          sourceTime,
          senderHeader: null,
        });
        const pair = `${inbox.id}|${g.identityId}`;
        const conv = conversations.get(pair);
        if (!conv || (conv.lastInboundAt ?? 0) < sourceTime)
          conversations.set(pair, {
            inboxId: inbox.id,
            identityId: g.identityId,
            ticketId: row.id,
            lastInboundAt: sourceTime,
          });
        const change: IngestChange = {
          ticketId: row.id,
          ticketCreated: created,
          teamId: row.team_id,
          assigneeId: row.assignee_id,
          messageId,
          inboxId: inbox.id,
          channel: msg.channel,
          senderIdentityId: g.identityId,
          senderContactId: g.contactId,
          sourceTime,
          direction: 'inbound',
          kind: 'message',
          awaitsReply: true,
          statusFrom,
          statusTo: status,
          priority: row.priority,
          missedCall: false,
        };
        events.push({ item, change, created, number: row.number, via: g.ticket ? 'conversation' : 'new_conversation' });
      });
    }
    await repo.insertMessages(messages);
    await repo.bindConversations([...conversations.values()]);
    await repo.touchTickets([...touches.values()]);

    // Events and audit per message in batch order, as InboundProcessor writes them; hooks after, once.
    for (const { item, change, created, number, via } of events) {
      const ref = { id: change.ticketId, teamId: change.teamId, assigneeId: change.assigneeId };
      if (created)
        out.outbox.push(
          this.outbox.ticketEvent('ticket.created', ref, {
            number: Number(number),
            channel: change.channel,
            priority: change.priority,
            requesterId: change.senderContactId,
            followUpOfId: null,
            via,
          }),
        );
      out.outbox.push(
        this.outbox.ticketEvent('message.created', ref, {
          messageId: change.messageId,
          direction: 'inbound',
          kind: 'message',
          channel: change.channel,
          autoSubmitted: false,
        }),
      );
      customerStatusChange(this.outbox, out, ref, change.statusFrom, change.statusTo, change.messageId);
      done.set(item, {
        status: 'created',
        ticketId: change.ticketId,
        messageId: change.messageId,
        ticketCreated: created,
      });
    }
    // Hooks once for the batch, in batch order (SLA clocks: a few statements for all its tickets).
    out.outbox.push(
      ...(await this.hooks.runBatch(
        m,
        events.map((e) => e.change),
      )),
    );
    return done;
  }
}
