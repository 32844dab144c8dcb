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
  statusTimestampsSql,
} from '@oq/contracts';
import { DataSource, EntityManager } from 'typeorm';
import { ContactResolverService } from '../contacts/contact-resolver.service';
import { OutboxEntry, OutboxService } from '../outbox/outbox.service';
import { SlaClockService } from '../sla/sla-clock.service';
import { writeTicketAudit } from './ticket-audit';
import { CreateTicketBody, MergeTicketBody, TicketListQuery, UpdateTicketBody } from './ticket.dto';
import {
  MESSAGE_COLUMNS,
  TICKET_COLUMNS,
  TicketRow,
  decodeCursor,
  encodeCursor,
  toMessageView,
  toTicketView,
} from './ticket.view';
import { Viewer, visibleIdentitySql, visibleTicketSql } from './viewer';

/**
 * Ticket reads and agent changes. Every change takes the row lock, checks the
 * optimistic version, and writes the audit row and outbox events in the same
 * transaction as the change.
 */
@Injectable()
export class TicketsService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    private readonly outbox: OutboxService,
    private readonly contacts: ContactResolverService,
    private readonly sla: SlaClockService,
  ) {}

  /** The ticket if the viewer may see it; 404 otherwise (an invisible ticket does not exist). */
  async findVisible(
    viewer: Viewer,
    id: string,
    manager: EntityManager = this.ds.manager,
    lock = false,
  ): Promise<TicketRow> {
    const params: unknown[] = [id];
    const [row] = await manager.query(
      `SELECT ${TICKET_COLUMNS} FROM tickets t WHERE t.id = $1 AND ${visibleTicketSql('t', viewer, params)}${lock ? ' FOR UPDATE' : ''}`,
      params,
    );
    if (!row) throw new NotFoundException(`ticket ${id} not found`);
    return row;
  }

  async list(viewer: Viewer, query: TicketListQuery) {
    const params: unknown[] = [];
    const where: string[] = [visibleTicketSql('t', viewer, params)];
    const p = (v: unknown) => (params.push(v), `$${params.length}`);
    if (query.status) where.push(`t.status = ANY(${p(query.status)}::text[])`);
    if (query.channel) where.push(`t.channel = ANY(${p(query.channel)}::text[])`);
    if (query.priority) where.push(`t.priority = ANY(${p(query.priority)}::text[])`);
    if (query.teamId) where.push(`t.team_id = ${p(query.teamId)}`);
    if (query.assignee === 'unassigned') where.push(`t.assignee_id IS NULL`);
    else if (query.assignee) where.push(`t.assignee_id = ${p(query.assignee === 'me' ? viewer.id : query.assignee)}`);
    if (query.requesterId) where.push(`t.requester_id = ${p(query.requesterId)}`);
    if (query.tag) where.push(`t.tags @> ARRAY[${p(query.tag)}::text]`);
    if (query.categoryId) where.push(`t.category_id = ${p(query.categoryId)}`);
    if (query.q) {
      const num = /^#?(\d{1,15})$/.exec(query.q);
      if (num) where.push(`t.number = ${p(num[1])}::bigint`);
      else where.push(`t.subject ILIKE ${p(query.q.replace(/[\\%_]/g, (c) => `\\${c}`) + '%')}`);
    }
    if (query.cursor) {
      const c = decodeCursor(query.cursor, 2);
      if (!c) throw badCursor();
      where.push(`(t.updated_at, t.id) < (${p(c[0])}::timestamptz, ${p(c[1])}::uuid)`);
    }
    const rows = await this.ds.query(
      `SELECT ${TICKET_COLUMNS}, t.updated_at::text AS updated_key FROM tickets t
        WHERE ${where.join(' AND ')} ORDER BY t.updated_at DESC, t.id DESC LIMIT ${p(query.limit + 1)}`,
      params,
    );
    const more = rows.length > query.limit;
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return { items: page.map(toTicketView), nextCursor: more ? encodeCursor([last.updated_key, last.id]) : null };
  }

  /** The ticket with its whole timeline: messages, notes and call logs in order, participants, audit, links. */
  async get(viewer: Viewer, id: string) {
    const ticket = await this.findVisible(viewer, id);
    const participantParams: unknown[] = [id];
    const shown = visibleIdentitySql('ci', viewer, participantParams);
    const [messages, participants, audit, followUps, mergedFrom] = await Promise.all([
      this.ds.query(`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.ticket_id = $1 ORDER BY m.created_at, m.id`, [
        id,
      ]),
      this.ds.query(
        `SELECT p.contact_id, p.role, c.name,
                coalesce((SELECT json_agg(json_build_object('id', ci.id, 'kind', ci.kind, 'value', ci.value) ORDER BY ci.created_at)
                            FROM contact_identities ci WHERE ci.contact_id = c.id AND ${shown}), '[]') AS identities
           FROM ticket_participants p JOIN contacts c ON c.id = p.contact_id
          WHERE p.ticket_id = $1 ORDER BY p.role DESC, c.created_at`,
        participantParams,
      ),
      this.ds.query(
        `SELECT id, actor_type, actor_agent_id, action, changes, created_at FROM ticket_audit WHERE ticket_id = $1 ORDER BY id`,
        [id],
      ),
      this.linkedTickets(viewer, 'follow_up_of_id', id),
      this.linkedTickets(viewer, 'merged_into_id', id),
    ]);
    return {
      ...toTicketView(ticket),
      participants: participants.map((r: Record<string, unknown>) => ({
        contactId: r.contact_id,
        role: r.role,
        name: r.name,
        identities: r.identities,
      })),
      messages: messages.map(toMessageView),
      audit: audit.map((r: Record<string, unknown>) => ({
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
    const params: unknown[] = [id];
    const rows = await this.ds.query(
      `SELECT t.id, t.number, t.subject, t.status, t.created_at FROM tickets t
        WHERE t.${column} = $1 AND ${visibleTicketSql('t', viewer, params)} ORDER BY t.created_at`,
      params,
    );
    return rows.map((r: Record<string, unknown>) => ({
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
      const [t] = await m.query(
        `INSERT INTO tickets (subject, status, priority, type, category_id, tags, team_id, assignee_id, requester_id,
                              channel, inbox_id, customer_message_count, last_customer_message_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12) RETURNING id, number`,
        [
          maskCardNumbers(body.subject),
          body.assigneeId ? statusAfterAssignment(INITIAL_TICKET_STATUS) : INITIAL_TICKET_STATUS,
          body.priority,
          body.type,
          body.categoryId ?? null,
          dedupe(body.tags),
          teamId,
          body.assigneeId ?? null,
          requester.contactId,
          body.channel,
          inbox?.id ?? null,
          now,
        ],
      );
      await m.query(`INSERT INTO ticket_participants (ticket_id, contact_id, role) VALUES ($1, $2, 'requester')`, [
        t.id,
        requester.contactId,
      ]);
      const named = [requester.identityId];
      for (const cc of body.cc) {
        const c = await this.contacts.findOrCreate(m, cc, { verified: false });
        named.push(c.identityId);
        if (c.contactId === requester.contactId) continue;
        await m.query(
          `INSERT INTO ticket_participants (ticket_id, contact_id, role) VALUES ($1, $2, 'cc') ON CONFLICT DO NOTHING`,
          [t.id, c.contactId],
        );
      }
      // The customer's side of the conversation, recorded by the agent: customer content, masked like any
      // inbound message (the agent's own replies and notes are refused with a card number instead).
      const call = body.callLog;
      const [msg] = await m.query(
        `INSERT INTO messages (ticket_id, inbox_id, channel, direction, kind, author_contact_id, subject, text, metadata,
                               source_time, sender_name, sender_address)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12) RETURNING id`,
        [
          t.id,
          inbox?.id ?? null,
          body.channel,
          call?.direction === 'outbound' ? 'outbound' : 'inbound',
          call ? 'call_log' : 'message',
          requester.contactId,
          maskCardNumbers(body.subject) || null,
          maskCardNumbers(call ? call.notes : body.message!.text),
          JSON.stringify({
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
          }),
          call?.startedAt ?? now,
          // The customer's side: sent as the requester the agent named (an outbound call has no customer sender).
          call?.direction === 'outbound' ? null : body.requester.name || null,
          call?.direction === 'outbound' ? null : body.requester.value,
        ],
      );
      // A ticket opened on an (inbox, identity) pair binds that conversation to it.
      if (inbox && identityKindsFor(inbox.channel).includes(body.requester.kind)) {
        await m.query(
          `INSERT INTO conversations (inbox_id, identity_id, ticket_id) VALUES ($1, $2, $3)
           ON CONFLICT (inbox_id, identity_id) DO UPDATE SET ticket_id = EXCLUDED.ticket_id, updated_at = now()`,
          [inbox.id, requester.identityId, t.id],
        );
      }
      // SLA clocks start with the ticket (a logged outbound call is not a customer waiting).
      if (call?.direction === 'outbound') await this.sla.onTicketCreated(m, t.id, now);
      else await this.sla.onCustomerMessage(m, t.id, new Date(call?.startedAt ?? now));
      await writeTicketAudit(m, t.id, viewer.id, 'created', {
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
          messageId: msg.id,
          direction: 'inbound',
          kind: call ? 'call_log' : 'message',
        }),
      ]);
      return t.id as string;
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
      await m.query(
        `UPDATE tickets SET status = $2, priority = $3, type = $4, category_id = $5, tags = $6, team_id = $7,
                assignee_id = $8, version = version + 1, updated_at = now(), ${statusTimestampsSql('$2')}
          WHERE id = $1`,
        [id, next.status, next.priority, next.type, next.category_id, next.tags, next.team_id, next.assignee_id],
      );
      // SLA clocks move in this transaction: status pauses/resumes/fulfils, other fields re-target.
      if (changes.status) await this.sla.onStatusChange(m, id, t.status, next.status);
      else await this.sla.onPriorityChange(m, id);
      await writeTicketAudit(m, id, viewer.id, 'updated', changes);
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

      // An UPDATE through TypeORM resolves to [rows, rowCount].
      const [moved]: [{ id: string }[], number] = await m.query(
        `UPDATE messages SET ticket_id = $2, updated_at = now() WHERE ticket_id = $1 RETURNING id`,
        [sourceId, targetId],
      );
      await m.query(
        `INSERT INTO ticket_participants (ticket_id, contact_id, role)
         SELECT $2, contact_id, 'cc' FROM ticket_participants WHERE ticket_id = $1
         ON CONFLICT (ticket_id, contact_id) DO NOTHING`,
        [sourceId, targetId],
      );
      await m.query(`UPDATE conversations SET ticket_id = $2, updated_at = now() WHERE ticket_id = $1`, [
        sourceId,
        targetId,
      ]);
      // The source's SLA clocks stop, each with a cancel in its trail: its work now lives on the target.
      await this.sla.onMerged(m, sourceId, target.number);
      await m.query(
        `UPDATE tickets SET status = 'closed', closed_at = now(), merged_into_id = $2, next_due_at = NULL,
                customer_message_count = 0, agent_reply_count = 0, version = version + 1, updated_at = now()
          WHERE id = $1`,
        [sourceId, targetId],
      );
      await m.query(
        `UPDATE tickets SET version = version + 1, updated_at = now(),
                tags = array(SELECT DISTINCT x FROM unnest(tags || $2::text[]) x ORDER BY 1),
                customer_message_count = customer_message_count + $3, agent_reply_count = agent_reply_count + $4,
                last_customer_message_at = greatest(last_customer_message_at, $5::timestamptz),
                last_agent_reply_at = greatest(last_agent_reply_at, $6::timestamptz),
                first_reply_at = least(first_reply_at, $7::timestamptz)
          WHERE id = $1`,
        [
          targetId,
          source.tags,
          source.customer_message_count,
          source.agent_reply_count,
          source.last_customer_message_at,
          source.last_agent_reply_at,
          source.first_reply_at,
        ],
      );
      await m.query(
        `INSERT INTO messages (ticket_id, direction, kind, author_agent_id, text, metadata)
         VALUES ($1, 'internal', 'system', $2, $3, $4::jsonb)`,
        [
          targetId,
          viewer.id,
          `Ticket #${source.number} was merged into this ticket`,
          JSON.stringify({ event: 'merged', sourceTicketId: sourceId, movedMessages: moved.length }),
        ],
      );
      await writeTicketAudit(m, sourceId, viewer.id, 'merged_into', {
        targetTicketId: targetId,
        movedMessages: moved.length,
      });
      await writeTicketAudit(m, targetId, viewer.id, 'merged_from', {
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

  private async resolveInbox(m: EntityManager, channel: string, inboxId?: string) {
    if (inboxId) {
      const [inbox] = await m.query(`SELECT id, channel, default_team_id FROM inboxes WHERE id = $1`, [inboxId]);
      if (!inbox) throw new UnprocessableEntityException(`inbox ${inboxId} does not exist`);
      if (inbox.channel !== channel)
        throw new UnprocessableEntityException(`inbox ${inboxId} is a ${inbox.channel} inbox, not ${channel}`);
      return inbox as { id: string; channel: string; default_team_id: string };
    }
    const [inbox] = await m.query(
      `SELECT id, channel, default_team_id FROM inboxes WHERE channel = $1 AND enabled ORDER BY created_at LIMIT 1`,
      [channel],
    );
    return (inbox ?? null) as { id: string; channel: string; default_team_id: string } | null;
  }

  private async assertTeam(m: EntityManager, teamId: string) {
    const [team] = await m.query(`SELECT 1 FROM teams WHERE id = $1`, [teamId]);
    if (!team) throw new UnprocessableEntityException(`team ${teamId} does not exist`);
  }

  private async assertCategory(m: EntityManager, categoryId: string) {
    const [c] = await m.query(`SELECT active FROM categories WHERE id = $1`, [categoryId]);
    if (!c?.active) throw new UnprocessableEntityException(`category ${categoryId} does not exist or is inactive`);
  }

  /** An assignee must be an active agent who can see the ticket afterwards (admin, or member of its team). */
  async assertAssignable(m: EntityManager, agentId: string, teamId: string) {
    const [a] = await m.query(
      `SELECT a.active, a.role, EXISTS (SELECT 1 FROM agent_teams at WHERE at.agent_id = a.id AND at.team_id = $2) AS member
         FROM agents a WHERE a.id = $1`,
      [agentId, teamId],
    );
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
