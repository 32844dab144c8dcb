import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  IdentityRef,
  InboundMessage,
  TextAltered,
  INITIAL_TICKET_STATUS,
  VERIFIED_IDENTITY_KINDS,
  acceptsInbound,
  statusAfterInbound,
  ticketIdFromEmailMessageId,
  ticketNumberFromSubject,
} from '@oq/contracts';
import {
  BatchConversation,
  BatchConversationTicketRow,
  BatchEmailRouteKey,
  BatchEmailRouteRow,
  BatchLookupRow,
  BatchNewMessage,
  BatchNewSender,
  BatchNewTicket,
  BatchTicketTouch,
  CallTicketRow,
  IngestBatchRepository,
  RoutedTicketRow,
} from '@oq/database';
import { CONFIG, LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { EntityManager } from 'typeorm';
import { Config } from '../config';
import { linkRecorded, senderLinks } from '../contacts/contact-resolver.service';
import { OutboxService } from '../outbox/outbox.service';
import { bracketMessageId, threadIds } from '../threading/ticket-router.service';
import { IngestChange, IngestHooks } from './ingest-hooks';
import {
  BatchWrites,
  IngestOutcome,
  customerStatusChange,
  displayNameOf,
  knownSenderOf,
  maskMessage,
  messageFacts,
  priorityAfterCall,
  senderUnknown,
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
 * null. The set-based path takes what most traffic is — customer messages, mail and call logs —
 * and leaves what has more to decide to the per-message path: bounces, suppressed mail, mail with
 * no sender address or with CCs, calls placed from a ticket, originals kept as bytes, withheld
 * callers, and text Postgres would refuse (a NUL), which then fails alone.
 */
export function perMessageReason(msg: InboundMessage): string | null {
  if (msg.bounce) return 'bounce';
  if (msg.email?.suppressed) return 'suppressed';
  if (senderUnknown(msg)) return 'unknown_sender';
  if (msg.call?.ticket) return 'named_ticket';
  if (msg.cc.length) return 'cc';
  if ((msg.metadata.textAltered as TextAltered | undefined)?.original) return 'originals';
  if (msg.sender.kind === 'anonymous') return 'anonymous';
  if (JSON.stringify(msg).includes('\\u0000')) return 'nul';
  return null;
}

/** Where one message goes: a ticket (locked by the routing read), or a new one and why. */
type GroupRoute = { ticket: RoutedTicketRow; via: string } | { ticket: null; via: string; followUpOfId: string | null };

/** How a sender key's messages are routed: its conversation's ticket, each mail by its thread, a call by its contact. */
type GroupKind = 'conversation' | 'email' | 'call';

export function groupKind(msg: InboundMessage): GroupKind {
  if (msg.channel === 'email') return 'email';
  if (msg.channel === 'voice' || msg.kind === 'call_log' || msg.call) return 'call';
  return 'conversation';
}

/** A new mail of the batch and the Message-IDs it answers (threadIds), read once. */
interface PlannedMail {
  g: Group;
  item: BatchItem;
  refs: string[];
}

/** The group's messages go the per-message way, after the set. */
function drop(g: Group): void {
  g.items = [];
  g.dropped = true;
}

/** What the set-based writes must know about the rest of the batch. */
interface BatchContext {
  /** Some message of the batch goes per message (after the set). */
  perMessage: boolean;
  /** The Message-IDs of the new mail among them. */
  perMessageMail: string[];
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
  kind: GroupKind;
  /** Its messages go per message after all (set by drop). */
  dropped?: boolean;
  /** Per message (a conversation: its first message's only; the rest follow it). */
  routes: GroupRoute[];
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
    @Inject(CONFIG) private readonly config: Config,
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
          kind: groupKind(item.msg),
          routes: [],
        });
    });

    const taken = [...groups.values()].filter((g): g is Group => g !== null);
    if (!taken.length) return items;
    // What goes per message anyway, written after the set: its new mail's Message-IDs (a set-based mail
    // answering one must wait for it), and whether there is any (then calls wait too: see applyCalls).
    const inSet = new Set(taken.flatMap((g) => g.items));
    const outside = items.filter((item, i) => !inSet.has(item) && !lookups[i]?.message_id);
    const context: BatchContext = {
      perMessage: outside.length > 0,
      perMessageMail: outside.flatMap((item) =>
        item.msg.email?.messageId ? [bracketMessageId(item.msg.email.messageId)] : [],
      ),
    };
    const local: BatchWrites = { outbox: [], audit: [] };
    const repo = this.batches.with(m);
    try {
      const done = await this.write(m, repo, taken, local, context);
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
   * Either way the sender's identity records it (linked_identity_id). A link two new senders of the
   * batch share, or that is itself a sender of the batch, goes per message. Returns the groups whose
   * links the routing read looks up.
   */
  private planLinks(groups: Group[]): Group[] {
    const key = (r: { kind: string; value: string }): string => `${r.kind}|${r.value}`;
    const senders = new Set(groups.filter((g) => g.items.length).map((g) => key(g.items[0].sender)));
    const linking = groups.filter((g) => g.items.length && g.newSender && g.link);
    const uses = new Map<string, number>();
    for (const g of linking) uses.set(key(g.link!), (uses.get(key(g.link!)) ?? 0) + 1);
    return linking.filter((g) => {
      if (uses.get(key(g.link!)) === 1 && !senders.has(key(g.link!))) return true;
      drop(g);
      return false;
    });
  }

  /** What the read found of the links: joins, or the link identities to create, per group. */
  private applyLinks(
    taken: Group[],
    found: { kind: string; value: string; id: string; contact_id: string }[],
  ): Map<Group, BatchNewSender[]> {
    const out = new Map<Group, BatchNewSender[]>();
    const key = (r: { kind: string; value: string }): string => `${r.kind}|${r.value}`;
    const byKey = new Map(found.map((r) => [key(r), r] as const));
    for (const g of taken) {
      const link = g.link!;
      const existing = byKey.get(key(link));
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
    context: BatchContext,
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
    // changed, a new sender with several links (merges, suggestions), a conversation on a closed or
    // merged ticket (follow-ups) goes the per-message way with all its messages.
    const names: { contactId: string; name: string }[] = [];
    const candidates = groups.filter((g) => g.items.length);
    for (const g of candidates) {
      const first = g.items[0];
      const known = knownSenderOf(g.lookups[0]);
      const linked = senderLinks(first.msg.sender);
      if (known ? !linkRecorded(known, linked) : linked.length > 1) {
        drop(g);
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
    const linking = this.planLinks(candidates);

    // Masked once, with one capped source time per message (the ticket's and the message's are the same).
    const prepared = new Map(
      candidates.flatMap((g) =>
        g.items.map((item) => {
          const msg = maskMessage(item.msg);
          return [item, { msg, sourceTime: sourceTimeOf(msg), ...messageFacts(msg) }] as const;
        }),
      ),
    );
    // Routing, read in ONE statement for the whole batch: the links, the conversations' tickets, every
    // new mail's thread and every call's ticket (IngestBatchRepository.route), applied in that order.
    const live = () => candidates.filter((g) => g.items.length);
    const conversing = live().filter((g) => g.kind === 'conversation');
    const mails = this.planMail(
      live().filter((g) => g.kind === 'email'),
      prepared,
    );
    const calls = this.planCalls(live().filter((g) => g.kind === 'call'));
    const read = await repo.route({
      links: linking.map((g) => g.link!),
      conversations: conversing
        .filter((g) => !g.newSender)
        .map((g) => ({ inboxId: g.items[0].msg.inboxId, identityId: g.identityId })),
      mails: mails.keys,
      calls: calls.reading.map((g) => ({ contactId: g.contactId, inboxId: g.items[0].msg.inboxId })),
    });
    const links = this.applyLinks(linking, read.links);
    this.applyConversations(conversing, read.conversations);
    this.applyMail(mails.items, read.mails, done, context.perMessageMail);
    // Anything of the batch that goes per message is written after the set, so a call — routed by its
    // contact's tickets as they are — could see less than one by one would: calls wait too.
    const fellBack = candidates.some((g) => g.dropped);
    if (context.perMessage || fellBack) for (const g of calls.taken) drop(g);
    this.applyCalls(calls, read.calls, live());
    const writing = live();
    if (!writing.length) return done;

    // New tickets: each message routed to none opens one (a conversation's first message, every new
    // mail thread, a call that found no open ticket).
    const opening: BatchNewTicket[] = [];
    const ticketOf = new Map<BatchItem, { id: string; created: boolean }>();
    const state = new Map<string, { status: string; priority: string; team: string; assignee: string | null }>();
    for (const g of writing) {
      const inbox = g.lookups[0].inbox!;
      g.items.forEach((item, i) => {
        const route = g.kind === 'conversation' ? (i === 0 ? g.routes[0] : null) : g.routes[i];
        // A conversation's later messages land where its first one did.
        if (!route) return void ticketOf.set(item, { id: ticketOf.get(g.items[0])!.id, created: false });
        if (route.ticket) {
          const t = route.ticket;
          ticketOf.set(item, { id: t.id, created: false });
          state.set(t.id, { status: t.status, priority: t.priority, team: t.team_id, assignee: t.assignee_id });
          return;
        }
        const { msg, sourceTime, missedCall, awaitsReply } = prepared.get(item)!;
        const priority = priorityAfterCall('normal', missedCall);
        const id = randomUUID();
        ticketOf.set(item, { id, created: true });
        state.set(id, { status: INITIAL_TICKET_STATUS, priority, team: inbox.default_team_id, assignee: null });
        opening.push({
          id,
          subject: ticketSubject(msg),
          priority,
          teamId: inbox.default_team_id,
          requesterId: g.contactId,
          channel: msg.channel,
          inboxId: inbox.id,
          followUpOfId: route.followUpOfId,
          customerMessageCount: awaitsReply ? 1 : 0,
          lastCustomerMessageAt: awaitsReply ? sourceTime : null,
          audit: { channel: msg.channel, via: route.via, followUpOfId: route.followUpOfId, priority },
        });
      });
    }

    const openedBy = new Map(opening.map((t) => [t.id, t] as const));

    // Messages in batch order; a ticket's status, priority and counters move as they would one message at a time.
    const messages: BatchNewMessage[] = [];
    const conversations = new Map<string, BatchConversation>();
    const touches = new Map<string, BatchTicketTouch>();
    const changes: { item: BatchItem; change: IngestChange; priorityFrom: string | null; autoSubmitted: boolean }[] =
      [];
    for (const g of writing)
      g.items.forEach((item, i) => {
        const { msg, sourceTime, direction, autoSubmitted, missedCall, awaitsReply } = prepared.get(item)!;
        const inbox = g.lookups[i].inbox!;
        const { id: ticketId, created } = ticketOf.get(item)!;
        const t = state.get(ticketId)!;
        const statusFrom = created ? null : t.status;
        const priorityFrom = created ? null : t.priority;
        const opens = openedBy.get(ticketId);
        if (!created && opens) {
          // A later message on a ticket this batch opens: the insert carries its counters (an UPDATE in the
          // same statement would not see the new row). Customer messages never move a new ticket's status.
          const status = awaitsReply ? statusAfterInbound(t.status) : t.status;
          if (status !== t.status || priorityAfterCall(t.priority, missedCall) !== t.priority)
            throw new Error(`a message of the batch would move ticket ${ticketId} that the batch opens`);
          if (awaitsReply) {
            opens.customerMessageCount++;
            if (!opens.lastCustomerMessageAt || opens.lastCustomerMessageAt < sourceTime)
              opens.lastCustomerMessageAt = sourceTime;
          }
        } else if (!created) {
          const status = awaitsReply ? statusAfterInbound(t.status) : t.status;
          const priority = priorityAfterCall(t.priority, missedCall);
          const touch = touches.get(ticketId) ?? {
            id: ticketId,
            status,
            priority,
            reopen: false,
            customerMessages: 0,
            lastCustomerMessageAt: null,
            versionBumps: 0,
          };
          const reopen = status !== t.status;
          touch.status = status;
          touch.priority = priority;
          touch.reopen ||= reopen;
          if (reopen || priority !== t.priority) touch.versionBumps++;
          if (awaitsReply) {
            touch.customerMessages++;
            if (!touch.lastCustomerMessageAt || touch.lastCustomerMessageAt < sourceTime)
              touch.lastCustomerMessageAt = sourceTime;
          }
          touches.set(ticketId, touch);
          t.status = status;
          t.priority = priority;
        }
        const messageId = randomUUID();
        messages.push({
          id: messageId,
          ticketId,
          inboxId: inbox.id,
          ...storedContent(msg),
          direction,
          authorContactId: g.contactId,
          emailMessageId: msg.email?.messageId ? bracketMessageId(msg.email.messageId) : null,
          autoSubmitted,
          sourceTime,
          senderHeader: msg.channel === 'email' ? (msg.email?.senderHeader ?? null) : null,
        });
        // The pair points at the ticket its sender last wrote to; its time is the latest inbound one.
        const pair = `${inbox.id}|${g.identityId}`;
        const before = conversations.get(pair)?.lastInboundAt ?? null;
        const inboundAt = direction === 'inbound' ? sourceTime : null;
        conversations.set(pair, {
          inboxId: inbox.id,
          identityId: g.identityId,
          ticketId,
          lastInboundAt: !before || (inboundAt && inboundAt > before) ? inboundAt : before,
        });
        changes.push({
          item,
          priorityFrom,
          autoSubmitted,
          change: {
            ticketId,
            ticketCreated: created,
            teamId: t.team,
            assigneeId: t.assignee,
            messageId,
            inboxId: inbox.id,
            channel: msg.channel,
            senderIdentityId: g.identityId,
            senderContactId: g.contactId,
            sourceTime,
            direction,
            kind: msg.kind,
            awaitsReply,
            statusFrom,
            statusTo: t.status,
            priority: t.priority,
            missedCall,
          },
        });
      });

    // One statement writes it all; the new tickets' numbers come back for their events.
    const opened = await repo.write({
      senders: [
        ...writing.flatMap((g) => (g.newSender ? [g.newSender] : [])),
        ...writing.flatMap((g) => links.get(g) ?? []),
      ],
      names: names.filter((n) => writing.some((g) => g.contactId === n.contactId)),
      tickets: opening,
      messages,
      conversations: [...conversations.values()],
      touches: [...touches.values()],
    });
    const numbers = new Map(opened.map((t) => [t.id, t.number] as const));

    // Events and audit in batch order, as InboundProcessor writes them.
    for (const { item, change: c, priorityFrom, autoSubmitted } of changes) {
      const ref = { id: c.ticketId, teamId: c.teamId, assigneeId: c.assigneeId };
      if (c.ticketCreated) {
        const t = openedBy.get(c.ticketId)!;
        out.outbox.push(
          this.outbox.ticketEvent('ticket.created', ref, {
            number: Number(numbers.get(c.ticketId)),
            channel: c.channel,
            priority: t.priority,
            requesterId: c.senderContactId,
            followUpOfId: t.followUpOfId,
            via: t.audit.via as string,
          }),
        );
      }
      out.outbox.push(
        this.outbox.ticketEvent('message.created', ref, {
          messageId: c.messageId,
          direction: c.direction,
          kind: c.kind,
          channel: c.channel,
          autoSubmitted,
        }),
      );
      customerStatusChange(this.outbox, out, ref, c.statusFrom, c.statusTo, c.messageId);
      if (priorityFrom && priorityFrom !== c.priority) {
        out.outbox.push(this.outbox.ticketEvent('ticket.updated', ref, { priority: c.priority }));
        out.audit.push({
          ticketId: c.ticketId,
          actorType: 'system',
          action: 'priority_raised',
          changes: { priority: [priorityFrom, c.priority], reason: 'missed call', messageId: c.messageId },
        });
      }
      done.set(item, {
        status: 'created',
        ticketId: c.ticketId,
        messageId: c.messageId,
        ticketCreated: c.ticketCreated,
      });
    }
    // Hooks once for the batch, in batch order (SLA clocks: a few statements for all its tickets).
    out.outbox.push(
      ...(await this.hooks.runBatch(
        m,
        changes.map((c) => c.change),
      )),
    );
    return done;
  }

  /** Conversations land on the ticket their (inbox, identity) pair is bound to; a new sender's open one. */
  private applyConversations(groups: Group[], found: BatchConversationTicketRow[]): void {
    const bound = new Map(found.map((t) => [`${t.inbox_id}|${t.identity_id}`, t] as const));
    for (const g of groups) {
      if (!g.items.length) continue;
      const t = g.newSender ? undefined : bound.get(`${g.items[0].msg.inboxId}|${g.identityId}`);
      // A conversation on a closed or merged ticket: a follow-up, or the merge target, decided one by one.
      if (t && (t.merged_into_id || !acceptsInbound(t.status))) drop(g);
      else
        g.routes = [
          t ? { ticket: t, via: 'conversation' } : { ticket: null, via: 'new_conversation', followUpOfId: null },
        ];
    }
  }

  /**
   * Every new mail routed as TicketRouterService.routeEmail routes it — our signed Message-ID, then the
   * newest stored message it names, then its subject token; only the ticket's people write into it, a
   * closed ticket gets a linked follow-up — by the routing read, which also finds mail imported before
   * under its legacy id (a duplicate).
   */
  private planMail(
    groups: Group[],
    prepared: Map<BatchItem, { msg: InboundMessage; sourceTime: Date }>,
  ): { items: PlannedMail[]; keys: BatchEmailRouteKey[] } {
    const items = groups.flatMap((g) => g.items.map((item) => ({ g, item, refs: threadIds(prepared.get(item)!.msg) })));
    const keys = items.map(({ g, item, refs: ids }) => {
      const { msg, sourceTime } = prepared.get(item)!;
      const signed = ids.map((id) => ticketIdFromEmailMessageId(id, this.config.EMAIL_THREADING_SECRET)).find(Boolean);
      const legacyId = msg.email?.legacyExternalId ?? null;
      return {
        inboxId: msg.inboxId,
        contactId: g.contactId,
        signedTicketId: signed ?? null,
        ids: signed ? [] : ids,
        number: signed ? null : ticketNumberFromSubject(msg.subject),
        legacyId,
        // A raw-source hash is the same mail for sure; a bare Message-ID only with the same INTERNALDATE.
        legacyTime: legacyId && !legacyId.startsWith('sha256:') ? sourceTime : null,
      };
    });
    return { items, keys };
  }

  /**
   * The read saw the mail stored before the batch: a mail answering a new mail of the batch (or
   * sharing its Message-ID) would see that one too, one by one — it goes per message with its
   * sender's other mail, as does one threading to a merged ticket.
   */
  private applyMail(
    items: PlannedMail[],
    rows: BatchEmailRouteRow[],
    done: Map<BatchItem, IngestOutcome>,
    perMessageMail: string[],
  ): void {
    const own = new Map<string, number>();
    for (const id of perMessageMail) own.set(id, (own.get(id) ?? 0) + 1);
    items.forEach(({ item }, i) => {
      const id = item.msg.email?.messageId;
      if (id && !rows[i].legacy) own.set(bracketMessageId(id), (own.get(bracketMessageId(id)) ?? 0) + 1);
    });
    const routes = new Map(items.map(({ item }, i) => [item, rows[i]] as const));
    const refsOf = new Map(items.map(({ item, refs }) => [item, refs] as const));
    for (const g of new Set(items.map((x) => x.g))) {
      const inBatch = g.items.some((item) => {
        const id = item.msg.email?.messageId;
        return (id && own.get(bracketMessageId(id))! > 1) || refsOf.get(item)!.some((ref) => own.has(ref));
      });
      if (inBatch) {
        drop(g);
        continue;
      }
      const kept: { item: BatchItem; lookup: BatchLookupRow; route: GroupRoute }[] = [];
      let merged = false;
      g.items.forEach((item, i) => {
        const r = routes.get(item)!;
        if (r.legacy) {
          done.set(item, { status: 'duplicate', ticketId: r.legacy.ticket_id, messageId: r.legacy.id });
          return;
        }
        const t = r.ticket;
        let route: GroupRoute;
        if (!t) route = { ticket: null, via: 'new_thread', followUpOfId: null };
        else if (t.merged_into_id) return void (merged = true);
        else if (!r.participant) route = { ticket: null, via: `${r.via}_non_participant`, followUpOfId: t.id };
        else if (!acceptsInbound(t.status)) route = { ticket: null, via: `${r.via}_closed`, followUpOfId: t.id };
        else route = { ticket: t, via: r.via };
        kept.push({ item, lookup: g.lookups[i], route });
      });
      if (merged) drop(g);
      g.items = merged ? [] : kept.map((k) => k.item);
      g.lookups = merged ? [] : kept.map((k) => k.lookup);
      g.routes = merged ? [] : kept.map((k) => k.route);
    }
  }

  /** Calls the routing read looks up: one per sender key, of a contact we know (a new phone has no tickets). */
  private planCalls(groups: Group[]): { taken: Group[]; reading: Group[] } {
    const taken = groups.filter((g) => {
      if (g.items.length === 1 && !g.link) return true;
      drop(g);
      return false;
    });
    return { taken, reading: taken.filter((g) => !g.newSender) };
  }

  /**
   * A call lands on its contact's open ticket (TicketRouterService.routeCall's query, per call) or
   * opens one. That choice read the contact's tickets as they were before the batch, so a call goes
   * per message when the batch writes anything else of its contact — a second call, another message
   * of the contact or on one of its tickets, which go per message with it — or when anything of the
   * batch goes per message (it is written after the set: ingest() and write()).
   */
  private applyCalls(
    plan: { taken: Group[]; reading: Group[] },
    found: (CallTicketRow | undefined)[],
    groups: Group[],
  ): void {
    if (!plan.taken.length) return;
    const others = new Map<string, number>();
    const mark = (contactId: string) => others.set(contactId, (others.get(contactId) ?? 0) + 1);
    for (const g of groups) {
      mark(g.contactId);
      if (g.kind !== 'call')
        for (const r of g.routes) if (r.ticket && r.ticket.requester_id !== g.contactId) mark(r.ticket.requester_id);
    }
    const byGroup = new Map(plan.reading.map((g, i) => [g, found[i]] as const));
    // A contact the batch writes besides its call: the call and those messages all go per message, so
    // they apply in batch order.
    const touches = (g: Group, contactId: string) =>
      g.contactId === contactId || g.routes.some((r) => r.ticket?.requester_id === contactId);
    for (const g of plan.taken) {
      if (!g.items.length) continue;
      if (others.get(g.contactId) !== 1) {
        for (const o of groups) if (o.items.length && touches(o, g.contactId)) drop(o);
        continue;
      }
      const row = byGroup.get(g);
      if (!row) {
        g.routes = [{ ticket: null, via: 'call', followUpOfId: null }];
        continue;
      }
      const { call_back, inbox_team, ...ticket } = row;
      const via = call_back ? 'call_back_ticket' : inbox_team ? 'inbox_team_ticket' : 'latest_open_ticket';
      g.routes = [{ ticket, via }];
    }
  }
}
