import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
  UnprocessableEntityException,
} from '@nestjs/common';
import {
  INITIAL_TICKET_STATUS,
  StatusActor,
  canTransition,
  isImmutableStatus,
  isTicketStatus,
  maskCardNumbers,
  statusAfterAssignment,
} from '@oq/contracts';
import {
  ConversationRepository,
  Db,
  MessageRepository,
  TicketListFilter,
  TicketRepository,
  TicketRow,
} from '@oq/database';
import { DataSource } from 'typeorm';
import { ContactResolverService } from '../contacts/contact-resolver.service';
import { OutboxEntry, OutboxService } from '../outbox/outbox.service';
import { SlaClockService } from '../sla/sla-clock.service';
import { CreateTicketBody, MergeTicketBody, TicketListQuery, UpdateTicketBody } from './ticket.dto';
import { decodeCursor, encodeCursor, toMessageView, toTicketView } from './ticket.view';
import { Viewer } from '../permissions/ticket-visibility';

/**
 * Ticket reads and agent changes. Every change takes the row lock, checks the
 * optimistic version, and writes the audit row and outbox events in the same
 * transaction as the change.
 */
@Injectable()
export class TicketsService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    private readonly tickets: TicketRepository,
    private readonly messages: MessageRepository,
    private readonly conversations: ConversationRepository,
    private readonly outbox: OutboxService,
    private readonly contacts: ContactResolverService,
    private readonly sla: SlaClockService,
  ) {}

  /** The ticket if the viewer may see it; 404 otherwise (an invisible ticket does not exist). */
  async findVisible(viewer: Viewer, id: string, db: Db = this.ds, lock = false): Promise<TicketRow> {
    const row = await this.tickets.with(db).findVisible(viewer, id, lock);
    if (!row) throw new NotFoundException(`ticket ${id} not found`);
    return row;
  }

  async list(viewer: Viewer, query: TicketListQuery) {
    const filter: TicketListFilter = {
      status: query.status,
      channel: query.channel,
      priority: query.priority,
      teamId: query.teamId,
      assigneeId: query.assignee === 'unassigned' ? null : query.assignee === 'me' ? viewer.id : query.assignee,
      requesterId: query.requesterId,
      tag: query.tag,
      categoryId: query.categoryId,
      limit: query.limit + 1,
    };
    if (query.q) {
      const num = /^#?(\d{1,15})$/.exec(query.q);
      if (num) filter.number = num[1];
      else filter.subjectPrefix = query.q;
    }
    if (query.cursor) {
      const c = decodeCursor(query.cursor, 2);
      if (!c) throw badCursor();
      filter.after = [c[0], c[1]];
    }
    const rows = await this.tickets.listVisible(viewer, filter);
    const more = rows.length > query.limit;
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return { items: page.map(toTicketView), nextCursor: more ? encodeCursor([last.updated_key, last.id]) : null };
  }

  /** The ticket with its whole timeline: messages, notes and call logs in order, participants, audit, links. */
  async get(viewer: Viewer, id: string) {
    const ticket = await this.findVisible(viewer, id);
    const [messages, participants, audit, followUps, mergedFrom] = await Promise.all([
      this.messages.timeline(id),
      this.tickets.participants(viewer, id),
      this.tickets.auditTrail(id),
      this.linkedTickets(viewer, 'follow_up_of_id', id),
      this.linkedTickets(viewer, 'merged_into_id', id),
    ]);
    return {
      ...toTicketView(ticket),
      participants: participants.map((r) => ({
        contactId: r.contact_id,
        role: r.role,
        name: r.name,
        identities: r.identities,
      })),
      messages: messages.map(toMessageView),
      audit: audit.map((r) => ({
        id: Number(r.id),
        actorType: r.actor_type,
        actorAgentId: r.actor_agent_id,
        action: r.action,
        changes: r.changes,
        createdAt: r.created_at,
      })),
      followUps,
      mergedFrom,
    };
  }

  /** Linked tickets the viewer may see (a follow-up may have moved to another team). */
  private async linkedTickets(viewer: Viewer, column: 'follow_up_of_id' | 'merged_into_id', id: string) {
    const rows = await this.tickets.linkedVisible(viewer, column, id);
    return rows.map((r) => ({
      id: r.id,
      number: Number(r.number),
      subject: r.subject,
      status: r.status,
      createdAt: r.created_at,
    }));
  }

  /** A ticket opened by an agent for a customer (a phone call logged by hand, a walk-in, a forwarded letter). */
  async create(viewer: Viewer, body: CreateTicketBody) {
    const id = await this.ds.transaction(async (m) => {
      const tickets = this.tickets.with(m);
      const inbox = await this.resolveInbox(m, body.channel, body.inboxId);
      const teamId = body.teamId ?? inbox?.default_team_id ?? viewer.teamIds[0];
      if (!teamId) throw new UnprocessableEntityException('no team: give teamId (there is no inbox for this channel)');
      await this.assertTeam(m, teamId);
      if (viewer.role !== 'admin' && !viewer.teamIds.includes(teamId))
        throw new ForbiddenException(`you are not a member of team ${teamId}`);
      if (body.categoryId) await this.assertCategory(m, body.categoryId);
      if (body.assigneeId) await this.assertAssignable(m, body.assigneeId, teamId);

      // Agent-typed identities are not provider-verified: they never merge contacts automatically.
      const requester = await this.contacts.findOrCreate(
        m,
        { kind: body.requester.kind, value: body.requester.value },
        // A blank name is no name: it would keep the contact from taking the first real one.
        { name: body.requester.name || undefined, verified: false },
      );
      const now = new Date();
      const t = await tickets.insert({
        subject: maskCardNumbers(body.subject),
        status: body.assigneeId ? statusAfterAssignment(INITIAL_TICKET_STATUS) : INITIAL_TICKET_STATUS,
        priority: body.priority,
        type: body.type,
        categoryId: body.categoryId ?? null,
        tags: dedupe(body.tags),
        teamId,
        assigneeId: body.assigneeId ?? null,
        requesterId: requester.contactId,
        channel: body.channel,
        inboxId: inbox?.id ?? null,
        lastCustomerMessageAt: now,
      });
      await tickets.addRequester(t.id, requester.contactId);
      const named = [requester.identityId];
      for (const cc of body.cc) {
        const c = await this.contacts.findOrCreate(m, cc, { verified: false });
        named.push(c.identityId);
        if (c.contactId === requester.contactId) continue;
        await tickets.addCc(t.id, c.contactId);
      }
      // The customer's side of the conversation, recorded by the agent: customer content, masked like any
      // inbound message (the agent's own replies and notes are refused with a card number instead).
      const call = body.callLog;
      const msgId = await this.messages.with(m).insertLogged({
        ticketId: t.id,
        inboxId: inbox?.id ?? null,
        channel: body.channel,
        direction: call?.direction === 'outbound' ? 'outbound' : 'inbound',
        kind: call ? 'call_log' : 'message',
        authorContactId: requester.contactId,
        subject: maskCardNumbers(body.subject) || null,
        text: maskCardNumbers(call ? call.notes : body.message!.text),
        metadata: {
          loggedByAgentId: viewer.id,
          // What the agent typed is theirs to see; the contacts' other identities are not (permissions/).
          namedIdentityIds: [...new Set(named)],
          ...(call && {
            call: {
              direction: call.direction,
              disposition: call.disposition,
              startedAt: call.startedAt ?? now.toISOString(),
              durationSec: call.durationSec,
            },
          }),
        },
        sourceTime: call?.startedAt ?? now,
        // The customer's side: sent as the requester the agent named (an outbound call has no customer sender).
        senderName: call?.direction === 'outbound' ? null : body.requester.name || null,
        senderAddress: call?.direction === 'outbound' ? null : body.requester.value,
      });
      // A ticket opened on an (inbox, identity) pair binds that conversation to it.
      if (inbox && identityKindsFor(inbox.channel).includes(body.requester.kind))
        await this.conversations.with(m).bindToTicket(inbox.id, requester.identityId, t.id);
      // SLA clocks start with the ticket (a logged outbound call is not a customer waiting).
      if (call?.direction === 'outbound') await this.sla.onTicketCreated(m, t.id, now);
      else await this.sla.onCustomerMessage(m, t.id, new Date(call?.startedAt ?? now));
      await tickets.writeAudit(t.id, viewer.id, 'created', {
        channel: body.channel,
        requesterId: requester.contactId,
        teamId,
        assigneeId: body.assigneeId ?? null,
        priority: body.priority,
      });
      const ref = { id: t.id, teamId, assigneeId: body.assigneeId ?? null };
      await this.outbox.write(m, [
        this.outbox.ticketEvent('ticket.created', ref, {
          number: Number(t.number),
          channel: body.channel,
          byAgentId: viewer.id,
        }),
        this.outbox.ticketEvent('message.created', ref, {
          messageId: msgId,
          direction: 'inbound',
          kind: call ? 'call_log' : 'message',
        }),
      ]);
      return t.id;
    });
    return this.get(viewer, id);
  }

  async update(viewer: Viewer, id: string, body: UpdateTicketBody) {
    await this.ds.transaction(async (m) => {
      const t = await this.findVisible(viewer, id, m, true);
      if (isImmutableStatus(t.status))
        throw new ConflictException({
          statusCode: 409,
          message: `ticket #${t.number} is closed; closed tickets are immutable`,
          reason: 'closed',
        });
      if (t.version !== body.version)
        throw new ConflictException({
          statusCode: 409,
          message: `stale version ${body.version}: ticket #${t.number} is at version ${t.version}`,
          reason: 'stale_version',
          currentVersion: t.version,
        });

      const next = {
        status: body.status ?? t.status,
        priority: body.priority ?? t.priority,
        type: body.type ?? t.type,
        category_id: body.categoryId === undefined ? t.category_id : body.categoryId,
        tags: body.tags === undefined ? t.tags : dedupe(body.tags),
        team_id: body.teamId ?? t.team_id,
        assignee_id: body.assigneeId === undefined ? t.assignee_id : body.assigneeId,
      };
      if (next.team_id !== t.team_id) await this.assertTeam(m, next.team_id);
      if (next.category_id && next.category_id !== t.category_id) await this.assertCategory(m, next.category_id);
      if (next.assignee_id && (next.assignee_id !== t.assignee_id || next.team_id !== t.team_id))
        await this.assertAssignable(m, next.assignee_id, next.team_id);
      // Assignment is the first sign an agent took the ticket: new → open.
      if (body.status === undefined && next.assignee_id && next.assignee_id !== t.assignee_id)
        next.status = statusAfterAssignment(t.status);
      if (next.status !== t.status)
        assertTransition(t.status, next.status, Number(t.number), body.status === undefined ? 'assignment' : 'agent');

      const changes: Record<string, [unknown, unknown]> = {};
      for (const [k, v] of Object.entries(next)) {
        const before = (t as unknown as Record<string, unknown>)[k];
        if (JSON.stringify(before) !== JSON.stringify(v)) changes[k] = [before, v];
      }
      if (!Object.keys(changes).length) return;
      await this.tickets.with(m).applyAgentChanges(id, next);
      // SLA clocks move in this transaction: status pauses/resumes/fulfils, other fields re-target.
      if (changes.status) await this.sla.onStatusChange(m, id, t.status, next.status);
      else await this.sla.onPriorityChange(m, id);
      await this.tickets.with(m).writeAudit(id, viewer.id, 'updated', changes);
      const ref = { id, teamId: next.team_id, assigneeId: next.assignee_id };
      const events: OutboxEntry[] = [this.outbox.ticketEvent('ticket.updated', ref, { changes, byAgentId: viewer.id })];
      if (changes.status)
        events.push(this.outbox.ticketEvent('ticket.status_changed', ref, { from: t.status, to: next.status }));
      if (changes.assignee_id)
        events.push(this.outbox.ticketEvent('ticket.assigned', ref, { from: t.assignee_id, to: next.assignee_id }));
      if (changes.team_id)
        // Agents of the old team lose the ticket from their view: tell them too.
        events.push(
          this.outbox.ticketEvent('ticket.updated', { ...ref, teamId: t.team_id }, { movedToTeamId: next.team_id }),
        );
      await this.outbox.write(m, events);
    });
    return this.get(viewer, id);
  }

  /**
   * Merges `sourceId` into the target: messages, CCs and conversation bindings
   * move over, the source closes with merged_into_id. Both must be visible, so an
   * agent cannot pull a ticket of another team into theirs or push theirs out.
   */
  async merge(viewer: Viewer, sourceId: string, body: MergeTicketBody) {
    const targetId = body.targetTicketId;
    if (targetId === sourceId) throw new UnprocessableEntityException('a ticket cannot be merged into itself');
    await this.ds.transaction(async (m) => {
      // Lock in id order so two opposite merges cannot deadlock.
      const [a, b] = [sourceId, targetId].sort();
      const first = await this.findVisible(viewer, a, m, true);
      const second = await this.findVisible(viewer, b, m, true);
      const source = first.id === sourceId ? first : second;
      const target = first.id === sourceId ? second : first;
      for (const t of [source, target])
        if (isImmutableStatus(t.status))
          throw new ConflictException({
            statusCode: 409,
            message: `ticket #${t.number} is closed; closed tickets are immutable`,
            reason: 'closed',
          });
      // The source closes whatever its status (the `merge` edges): checked against the lifecycle.
      assertTransition(source.status, 'closed', Number(source.number), 'merge');

      const tickets = this.tickets.with(m);
      const messages = this.messages.with(m);
      const moved = await messages.moveToTicket(sourceId, targetId);
      await tickets.copyParticipantsAsCc(sourceId, targetId);
      await this.conversations.with(m).moveToTicket(sourceId, targetId);
      // The source's SLA clocks stop, each with a cancel in its trail: its work now lives on the target.
      await this.sla.onMerged(m, sourceId, target.number);
      await tickets.closeAsMerged(sourceId, targetId);
      await tickets.absorbMerged(targetId, source);
      await messages.insertSystemNotice(targetId, viewer.id, `Ticket #${source.number} was merged into this ticket`, {
        event: 'merged',
        sourceTicketId: sourceId,
        movedMessages: moved.length,
      });
      await tickets.writeAudit(sourceId, viewer.id, 'merged_into', {
        targetTicketId: targetId,
        movedMessages: moved.length,
      });
      await tickets.writeAudit(targetId, viewer.id, 'merged_from', {
        sourceTicketId: sourceId,
        movedMessages: moved.length,
      });
      await this.outbox.write(m, [
        this.outbox.ticketEvent(
          'ticket.merged',
          { id: sourceId, teamId: source.team_id, assigneeId: source.assignee_id },
          { into: targetId },
        ),
        this.outbox.ticketEvent(
          'ticket.status_changed',
          { id: sourceId, teamId: source.team_id, assigneeId: source.assignee_id },
          { from: source.status, to: 'closed' },
        ),
        this.outbox.ticketEvent(
          'ticket.updated',
          { id: targetId, teamId: target.team_id, assigneeId: target.assignee_id },
          { mergedFrom: sourceId },
        ),
      ]);
    });
    return this.get(viewer, targetId);
  }

  private async resolveInbox(db: Db, channel: string, inboxId?: string) {
    const tickets = this.tickets.with(db);
    if (inboxId) {
      const inbox = await tickets.inboxById(inboxId);
      if (!inbox) throw new UnprocessableEntityException(`inbox ${inboxId} does not exist`);
      if (inbox.channel !== channel)
        throw new UnprocessableEntityException(`inbox ${inboxId} is a ${inbox.channel} inbox, not ${channel}`);
      return inbox;
    }
    return (await tickets.firstEnabledInbox(channel)) ?? null;
  }

  private async assertTeam(db: Db, teamId: string) {
    if (!(await this.tickets.with(db).teamExists(teamId)))
      throw new UnprocessableEntityException(`team ${teamId} does not exist`);
  }

  private async assertCategory(db: Db, categoryId: string) {
    if (!(await this.tickets.with(db).categoryActive(categoryId)))
      throw new UnprocessableEntityException(`category ${categoryId} does not exist or is inactive`);
  }

  /** An assignee must be an active agent who can see the ticket afterwards (admin, or member of its team). */
  async assertAssignable(db: Db, agentId: string, teamId: string) {
    const a = await this.tickets.with(db).assigneeCandidate(agentId, teamId);
    if (!a?.active) throw new UnprocessableEntityException(`agent ${agentId} does not exist or is inactive`);
    if (a.role !== 'admin' && !a.member)
      throw new UnprocessableEntityException(`agent ${agentId} is not a member of team ${teamId}`);
  }
}

function dedupe(tags: string[]): string[] {
  return [...new Set(tags)];
}

function badCursor() {
  return new BadRequestException({
    statusCode: 400,
    message: 'validation failed',
    fields: [{ path: 'cursor', message: 'malformed cursor' }],
  });
}
export { badCursor };

/** Which identity kinds a channel's conversations are keyed by. */
export function identityKindsFor(channel: string): string[] {
  switch (channel) {
    case 'email':
      return ['email'];
    case 'voice':
      return ['phone'];
    case 'chat':
      return ['app_user', 'visitor'];
    default:
      return [channel];
  }
}

/**
 * A status change by `actor` must be an edge of the lifecycle (@oq/contracts ticket-status:
 * `new` only by the system — first reply or assignment leaves it —, `closed` only from
 * solved, nothing leaves closed); 422 `invalid_transition` otherwise. Callers refuse a
 * closed ticket first (409 `closed`) and call this only when the status changes.
 */
export function assertTransition(from: string, to: string, number: number, actor: StatusActor = 'agent') {
  if (canTransition(from, to, actor)) return;
  if (!isTicketStatus(to)) throw new UnprocessableEntityException(`unknown status ${to}`);
  throw new UnprocessableEntityException({
    statusCode: 422,
    message:
      to === INITIAL_TICKET_STATUS
        ? `ticket #${number} cannot go back to new`
        : to === 'closed' && from !== 'solved'
          ? `ticket #${number} must be solved before it can be closed (it is ${from})`
          : `ticket #${number} cannot go from ${from} to ${to}${actor === 'reply' ? ' with a reply' : ''}`,
    reason: 'invalid_transition',
  });
}
