import { Inject, Injectable } from '@nestjs/common';
import {
  OPEN_TICKET_STATUSES,
  QUEUE_NEXT_STATUSES,
  statusAfterAssignmentSql,
  statusInSql,
  statusTimestampsSql,
} from '@oq/contracts';
import { DataSource } from 'typeorm';
import { Db, execute, maybeOne, one, rows } from '../sql/db';
import { Sql, sql } from '../sql/sql';
import { OutboxJob, outboxInsertSql } from './outbox.repository';
import { Viewer, visibleIdentities, visibleTickets } from './visibility';

/** The columns every ticket read selects (apps' ticket.view.ts turns them into the API shape). */
/** The columns every full ticket read selects (as TicketRow); contacts' ticket list reads them too. */
export const TICKET_COLUMNS =
  sql.raw(`t.id, t.number, t.subject, t.status, t.priority, t.type, t.category_id, t.tags, t.team_id,
  t.assignee_id, t.requester_id, t.channel, t.inbox_id, t.follow_up_of_id, t.merged_into_id, t.version,
  t.next_due_at, t.first_reply_at, t.solved_at, t.closed_at, t.last_customer_message_at, t.last_agent_reply_at,
  t.customer_message_count, t.agent_reply_count, t.created_at, t.updated_at`);

/** A tickets row as TICKET_COLUMNS reads it (snake_case, as the API views expect). */
export interface TicketRow {
  id: string;
  /** bigint: pg hands it over as a string. */
  number: string;
  subject: string;
  status: string;
  priority: string;
  type: string;
  category_id: string | null;
  tags: string[];
  team_id: string;
  assignee_id: string | null;
  requester_id: string;
  channel: string;
  inbox_id: string | null;
  follow_up_of_id: string | null;
  merged_into_id: string | null;
  version: number;
  next_due_at: Date | null;
  first_reply_at: Date | null;
  solved_at: Date | null;
  closed_at: Date | null;
  last_customer_message_at: Date | null;
  last_agent_reply_at: Date | null;
  customer_message_count: number;
  agent_reply_count: number;
  created_at: Date;
  updated_at: Date;
}

/** A ticket of the agent's list with its sort key as Postgres prints it (microseconds survive in cursors). */
export interface TicketListRow extends TicketRow {
  updated_key: string;
}

/** A queue ticket with its keyset sort key as text, for the next page's cursor. */
export interface QueueRow extends TicketRow {
  k_due: string;
  k_rank: string;
  k_created: string;
}

/** Filters of the agent's ticket list (GET /v1/tickets), already resolved by the caller. */
export interface TicketListFilter {
  status?: string[];
  channel?: string[];
  priority?: string[];
  teamId?: string;
  /** An agent id, or null for unassigned tickets only. */
  assigneeId?: string | null;
  requesterId?: string;
  tag?: string;
  categoryId?: string;
  /** The ticket number, as digits. */
  number?: string;
  /** A subject prefix, as typed (LIKE wildcards in it are matched literally). */
  subjectPrefix?: string;
  /** Keyset position: the last row's (updated_key, id). */
  after?: [updatedKey: string, id: string];
  /** Rows to read: ask one more than a page to learn whether another page follows. */
  limit: number;
}

/** Filters of the queue (GET /v1/queue), already resolved by the caller. */
export interface QueueFilter {
  status?: string[];
  channel?: string[];
  teamId?: string;
  /** An agent id, or null for unassigned tickets only. */
  assigneeId?: string | null;
  tag?: string;
  categoryId?: string;
  /** Keyset position: the last row's (k_due, k_rank, k_created, id). */
  after?: [due: string, rank: string, created: string, id: string];
  /** Rows to read: ask one more than a page to learn whether another page follows. */
  limit: number;
}

export interface NextTicketFilter {
  teamId?: string;
  channel?: string[];
}

export interface ParticipantRow {
  contact_id: string;
  role: 'requester' | 'cc';
  name: string | null;
  /** Only the identities the viewer may see. */
  identities: { id: string; kind: string; value: string }[];
}

export interface TicketAuditRow {
  /** bigint: a string from pg. */
  id: string;
  actor_type: 'agent' | 'customer' | 'system';
  actor_agent_id: string | null;
  action: string;
  changes: Record<string, unknown>;
  created_at: Date;
}

export interface LinkedTicketRow {
  id: string;
  number: string;
  subject: string;
  status: string;
  created_at: Date;
}

/** A ticket an agent opens by hand (TicketsService.create). */
export interface NewTicket {
  subject: string;
  status: string;
  priority: string;
  type: string;
  categoryId: string | null;
  tags: string[];
  teamId: string;
  assigneeId: string | null;
  requesterId: string;
  channel: string;
  inboxId: string | null;
  /** The customer's message the agent logs with it: counted as the first. */
  lastCustomerMessageAt: Date;
}

/** What an agent may change on a ticket (PATCH), as the row's columns. */
export type AgentTicketFields = Pick<
  TicketRow,
  'status' | 'priority' | 'type' | 'category_id' | 'tags' | 'team_id' | 'assignee_id'
>;

/** What a merged ticket hands to the ticket it is merged into. */
export interface MergedTicketTotals {
  tags: string[];
  customer_message_count: number;
  agent_reply_count: number;
  last_customer_message_at: Date | null;
  last_agent_reply_at: Date | null;
  first_reply_at: Date | null;
}

/** The ticket as an escalation command reads (and changes) it. */
export interface EscalatedTicketRow {
  id: string;
  number: string;
  subject: string;
  status: string;
  priority: string;
  team_id: string;
  assignee_id: string | null;
  channel: string;
  inbox_id: string | null;
}

/** A ticket as a batch of escalation commands locks it: with the facts SLA policies match on, and its commands recorded now. */
export interface CommandTicketRow extends EscalatedTicketRow {
  tags: string[];
  category_id: string | null;
  type: string;
  /** Whether first_reply ever ran on the ticket. */
  ever: boolean;
  recorded: string[];
}

export interface InboxForTicketRow {
  id: string;
  channel: string;
  default_team_id: string;
}

export interface AssigneeCandidateRow {
  active: boolean;
  role: 'admin' | 'agent';
  /** A member of the team the ticket will be in. */
  member: boolean;
}

/**
 * The queue's sort key, identical to the expressions of the keyset indexes
 * (migration 1764000003000): due time with NULLs as +infinity, priority negated
 * so every column ascends, then age and id. `(key) > (cursor)` is one range scan.
 */
const QUEUE_KEY = sql.raw(`coalesce(t.next_due_at, 'infinity'::timestamptz), (-t.priority_rank), t.created_at, t.id`);
const QUEUE_KEY_TEXT =
  sql.raw(`coalesce(t.next_due_at, 'infinity'::timestamptz)::text AS k_due, (-t.priority_rank)::text AS k_rank,
  t.created_at::text AS k_created`);
/** `t.status IN ('new','open','pending','on_hold')`: the keyset indexes' predicate, so they serve the queue. */
const QUEUE_OPEN = sql.raw(statusInSql(OPEN_TICKET_STATUSES, 't.status'));
/** `t.status IN ('new','open')`: what queue/next hands out. */
const QUEUE_NEXT = sql.raw(statusInSql(QUEUE_NEXT_STATUSES, 't.status'));
/** new → open as the UPDATE's own expression (the row's old status). */
const STATUS_AFTER_ASSIGNMENT = sql.raw(statusAfterAssignmentSql('status'));

/**
 * The timestamps a status change to `to` writes (@oq/contracts statusTimestampsSql keeps the
 * lifecycle's rule in one place): its text reads the new status at a placeholder of our
 * choosing, where each occurrence gets `to` bound as a parameter.
 */
function statusTimestamps(to: string): Sql {
  const mark = '$0';
  const parts = statusTimestampsSql(mark).split(mark);
  return sql.join(
    parts.map((p) => sql.raw(p)),
    sql`${to}::text`,
  );
}

/** LIKE pattern matching `prefix` literally at the start. */
function likePrefix(prefix: string): string {
  return prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
}

/**
 * The queue: open tickets `viewer` may see, most urgent first (QUEUE_KEY).
 *
 * Hot path (bench:queue): hand-written SQL, because its shape is the point. For a non-admin
 * agent the visible set is "my teams' tickets OR assigned to me"; an OR over the whole table
 * would scan the global index and filter. Instead each team (and "assigned to me") is an
 * ordered range scan on its own keyset index, LIMITed, and the pieces are merged: cost ~
 * teams × page size, whatever the table holds. The statement's text varies with the number
 * of teams and filters, so it is not a named statement. A function of its own so bench:queue's
 * raw baseline runs exactly this statement through pg.
 */
export function queueStatement(viewer: Viewer, f: QueueFilter): Sql {
  const filters: Sql[] = [QUEUE_OPEN];
  if (f.status) filters.push(sql`t.status = ANY(${f.status}::text[])`);
  if (f.channel) filters.push(sql`t.channel = ANY(${f.channel}::text[])`);
  if (f.assigneeId === null) filters.push(sql`t.assignee_id IS NULL`);
  else if (f.assigneeId) filters.push(sql`t.assignee_id = ${f.assigneeId}::uuid`);
  // `= ANY`, not `@>`: the GIN index behind `@>` holds every ticket ever tagged (39k per tag at 1M
  // tickets, 10 ms per piece in a BitmapAnd), while a team's keyset range of open tickets, filtered
  // row by row, stops at the page — its cost bounded by the team's open work (bench:queue, #18).
  if (f.tag) filters.push(sql`${f.tag}::text = ANY(t.tags)`);
  if (f.categoryId) filters.push(sql`t.category_id = ${f.categoryId}::uuid`);
  if (f.after) {
    const [due, rank, created, id] = f.after;
    filters.push(sql`(${QUEUE_KEY}) > (${due}::timestamptz, ${rank}::smallint, ${created}::timestamptz, ${id}::uuid)`);
  }
  const where = sql.join(filters, ' AND ');
  const piece = (extra: Sql) =>
    sql`(SELECT ${TICKET_COLUMNS}, ${QUEUE_KEY_TEXT} FROM tickets t WHERE ${extra} AND ${where} ORDER BY ${QUEUE_KEY} LIMIT ${f.limit})`;

  if (viewer.role === 'admin') return piece(f.teamId ? sql`t.team_id = ${f.teamId}::uuid` : sql.raw('TRUE'));

  const teams = f.teamId ? viewer.teamIds.filter((id) => id === f.teamId) : viewer.teamIds;
  const pieces = teams.map((id) => piece(sql`t.team_id = ${id}::uuid`));
  // Tickets assigned to me in teams I am not in (an admin assigned them, or the team moved).
  const mine = [sql`t.assignee_id = ${viewer.id}::uuid`];
  if (f.teamId) mine.push(sql`t.team_id = ${f.teamId}::uuid`);
  if (teams.length) mine.push(sql`t.team_id <> ALL(${teams}::uuid[])`);
  pieces.push(piece(sql.join(mine, ' AND ')));
  return sql`SELECT * FROM (${sql.join(pieces, ' UNION ALL ')}) u
            ORDER BY coalesce(u.next_due_at, 'infinity'::timestamptz), u.k_rank::smallint, u.created_at, u.id
            LIMIT ${f.limit}`;
}

/**
 * Tickets as agents and the system change them, their CC participants, audit trail and applied commands.
 * Tables: tickets, ticket_participants, ticket_audit, applied_ticket_commands.
 */
@Injectable()
export class TicketRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): TicketRepository {
    return new TicketRepository(db);
  }

  // ── reads ────────────────────────────────────────────────────────────────

  /** The ticket if `viewer` may see it; `lock` takes its row lock (FOR UPDATE) for a change. */
  findVisible(viewer: Viewer, id: string, lock = false): Promise<TicketRow | undefined> {
    return maybeOne<TicketRow>(
      this.db,
      sql`SELECT ${TICKET_COLUMNS} FROM tickets t WHERE t.id = ${id} AND ${visibleTickets(viewer, 't')}${
        lock ? sql.raw(' FOR UPDATE') : sql.empty
      }`,
    );
  }

  /** The agent's ticket list: visible tickets matching `f`, most recently updated first (keyset on updated_at, id). */
  listVisible(viewer: Viewer, f: TicketListFilter): Promise<TicketListRow[]> {
    const where: Sql[] = [visibleTickets(viewer, 't')];
    if (f.status) where.push(sql`t.status = ANY(${f.status}::text[])`);
    if (f.channel) where.push(sql`t.channel = ANY(${f.channel}::text[])`);
    if (f.priority) where.push(sql`t.priority = ANY(${f.priority}::text[])`);
    if (f.teamId) where.push(sql`t.team_id = ${f.teamId}`);
    if (f.assigneeId === null) where.push(sql`t.assignee_id IS NULL`);
    else if (f.assigneeId) where.push(sql`t.assignee_id = ${f.assigneeId}`);
    if (f.requesterId) where.push(sql`t.requester_id = ${f.requesterId}`);
    if (f.tag) where.push(sql`t.tags @> ARRAY[${f.tag}::text]`);
    if (f.categoryId) where.push(sql`t.category_id = ${f.categoryId}`);
    if (f.number !== undefined) where.push(sql`t.number = ${f.number}::bigint`);
    else if (f.subjectPrefix !== undefined) where.push(sql`t.subject ILIKE ${likePrefix(f.subjectPrefix)}`);
    if (f.after) where.push(sql`(t.updated_at, t.id) < (${f.after[0]}::timestamptz, ${f.after[1]}::uuid)`);
    return rows<TicketListRow>(
      this.db,
      sql`SELECT ${TICKET_COLUMNS}, t.updated_at::text AS updated_key FROM tickets t
        WHERE ${sql.join(where, ' AND ')} ORDER BY t.updated_at DESC, t.id DESC LIMIT ${f.limit}`,
    );
  }

  /** The queue: open tickets `viewer` may see, most urgent first (see queueStatement). */
  queue(viewer: Viewer, f: QueueFilter): Promise<QueueRow[]> {
    return rows<QueueRow>(this.db, queueStatement(viewer, f));
  }

  /**
   * Locks the most urgent unassigned new/open ticket `viewer` may take (queue/next). SKIP LOCKED
   * lets concurrent callers pass each other's candidate instead of queueing on it, so N agents
   * pressing "next" at once get N different tickets. Pending and on-hold tickets wait on someone else.
   */
  lockNextUnassigned(
    viewer: Viewer,
    f: NextTicketFilter,
  ): Promise<Pick<TicketRow, 'id' | 'status' | 'team_id'> | undefined> {
    const where = [QUEUE_NEXT, sql`t.assignee_id IS NULL`];
    if (viewer.role !== 'admin') where.push(sql`t.team_id = ANY(${viewer.teamIds}::uuid[])`);
    if (f.teamId) where.push(sql`t.team_id = ${f.teamId}::uuid`);
    if (f.channel) where.push(sql`t.channel = ANY(${f.channel}::text[])`);
    return maybeOne(
      this.db,
      sql`SELECT t.id, t.status, t.team_id FROM tickets t WHERE ${sql.join(where, ' AND ')}
          ORDER BY ${QUEUE_KEY} LIMIT 1 FOR UPDATE SKIP LOCKED`,
    );
  }

  /** The ticket's participants (requester first) with the identities `viewer` may see of each. */
  participants(viewer: Viewer, ticketId: string): Promise<ParticipantRow[]> {
    return rows<ParticipantRow>(
      this.db,
      sql`SELECT p.contact_id, p.role, c.name,
                coalesce((SELECT json_agg(json_build_object('id', ci.id, 'kind', ci.kind, 'value', ci.value) ORDER BY ci.created_at)
                            FROM contact_identities ci WHERE ci.contact_id = c.id AND ${visibleIdentities(viewer, 'ci')}), '[]') AS identities
           FROM ticket_participants p JOIN contacts c ON c.id = p.contact_id
          WHERE p.ticket_id = ${ticketId} ORDER BY p.role DESC, c.created_at`,
    );
  }

  /** The ticket's audit trail, oldest first. */
  auditTrail(ticketId: string): Promise<TicketAuditRow[]> {
    return rows<TicketAuditRow>(
      this.db,
      sql`SELECT id, actor_type, actor_agent_id, action, changes, created_at FROM ticket_audit WHERE ticket_id = ${ticketId} ORDER BY id`,
    );
  }

  /** Tickets linked to `id` by `column` (its follow-ups, the tickets merged into it) that `viewer` may see. */
  linkedVisible(viewer: Viewer, column: 'follow_up_of_id' | 'merged_into_id', id: string): Promise<LinkedTicketRow[]> {
    const link = column === 'follow_up_of_id' ? sql.raw('t.follow_up_of_id') : sql.raw('t.merged_into_id');
    return rows<LinkedTicketRow>(
      this.db,
      sql`SELECT t.id, t.number, t.subject, t.status, t.created_at FROM tickets t
        WHERE ${link} = ${id} AND ${visibleTickets(viewer, 't')} ORDER BY t.created_at`,
    );
  }

  /** The email addresses of the ticket's CC participants (one per contact, its oldest) except `except`. */
  async ccEmails(ticketId: string, except: string): Promise<string[]> {
    const found = await rows<{ value: string }>(
      this.db,
      sql`SELECT DISTINCT ON (p.contact_id) ci.value FROM ticket_participants p
             JOIN contact_identities ci ON ci.contact_id = p.contact_id AND ci.kind = 'email'
            WHERE p.ticket_id = ${ticketId} AND p.role = 'cc' AND ci.value <> ${except}
            ORDER BY p.contact_id, ci.created_at`,
    );
    return found.map((r) => r.value);
  }

  // ── what a ticket refers to (inboxes, teams, categories, agents are other aggregates' tables;
  //    these are the checks an agent's ticket change makes before it references them) ──────────

  /** The inbox a new ticket is opened on, by id. */
  inboxById(inboxId: string): Promise<InboxForTicketRow | undefined> {
    return maybeOne<InboxForTicketRow>(
      this.db,
      sql`SELECT id, channel, default_team_id FROM inboxes WHERE id = ${inboxId}`,
    );
  }

  /** The channel's first enabled inbox (a new ticket's default). */
  firstEnabledInbox(channel: string): Promise<InboxForTicketRow | undefined> {
    return maybeOne<InboxForTicketRow>(
      this.db,
      sql`SELECT id, channel, default_team_id FROM inboxes WHERE channel = ${channel} AND enabled ORDER BY created_at LIMIT 1`,
    );
  }

  async teamExists(teamId: string): Promise<boolean> {
    return (await maybeOne(this.db, sql`SELECT 1 AS one FROM teams WHERE id = ${teamId}`)) !== undefined;
  }

  /** Whether the category is active; undefined when there is no such category. */
  async categoryActive(categoryId: string): Promise<boolean | undefined> {
    const c = await maybeOne<{ active: boolean }>(this.db, sql`SELECT active FROM categories WHERE id = ${categoryId}`);
    return c?.active;
  }

  /** What decides whether `agentId` may be assigned a ticket of `teamId`; undefined when no such agent. */
  assigneeCandidate(agentId: string, teamId: string): Promise<AssigneeCandidateRow | undefined> {
    return maybeOne<AssigneeCandidateRow>(
      this.db,
      sql`SELECT a.active, a.role, EXISTS (SELECT 1 FROM agent_teams at WHERE at.agent_id = a.id AND at.team_id = ${teamId}) AS member
         FROM agents a WHERE a.id = ${agentId}`,
    );
  }

  async activeAgentExists(agentId: string): Promise<boolean> {
    return (await maybeOne(this.db, sql`SELECT id FROM agents WHERE id = ${agentId} AND active`)) !== undefined;
  }

  // ── agents' changes ──────────────────────────────────────────────────────

  /** A ticket opened by an agent; its customer message counts as the first. */
  insert(t: NewTicket): Promise<{ id: string; number: string }> {
    return one<{ id: string; number: string }>(
      this.db,
      sql`INSERT INTO tickets (subject, status, priority, type, category_id, tags, team_id, assignee_id, requester_id,
                              channel, inbox_id, customer_message_count, last_customer_message_at)
         VALUES (${t.subject}, ${t.status}, ${t.priority}, ${t.type}, ${t.categoryId}, ${t.tags}, ${t.teamId},
                 ${t.assigneeId}, ${t.requesterId}, ${t.channel}, ${t.inboxId}, 1, ${t.lastCustomerMessageAt})
         RETURNING id, number`,
    );
  }

  async addRequester(ticketId: string, contactId: string): Promise<void> {
    await execute(
      this.db,
      sql`INSERT INTO ticket_participants (ticket_id, contact_id, role) VALUES (${ticketId}, ${contactId}, 'requester')`,
    );
  }

  /** Adds a CC participant; one already on the ticket stays as it is. */
  async addCc(ticketId: string, contactId: string): Promise<void> {
    await execute(
      this.db,
      sql`INSERT INTO ticket_participants (ticket_id, contact_id, role) VALUES (${ticketId}, ${contactId}, 'cc') ON CONFLICT DO NOTHING`,
    );
  }

  /** An agent's edit (the row is locked and its version checked by the caller): bumps the version, stamps status times. */
  async applyAgentChanges(id: string, next: AgentTicketFields): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE tickets SET status = ${next.status}, priority = ${next.priority}, type = ${next.type},
                category_id = ${next.category_id}, tags = ${next.tags}, team_id = ${next.team_id},
                assignee_id = ${next.assignee_id}, version = version + 1, updated_at = now(), ${statusTimestamps(next.status)}
          WHERE id = ${id}`,
    );
  }

  /** queue/next's take: the locked ticket becomes the agent's (new → open). */
  assignFromQueue(id: string, agentId: string): Promise<TicketRow> {
    return one<TicketRow>(
      this.db,
      sql`UPDATE tickets t SET assignee_id = ${agentId}, status = ${STATUS_AFTER_ASSIGNMENT},
                version = version + 1, updated_at = now()
          WHERE t.id = ${id} RETURNING ${TICKET_COLUMNS}`,
    );
  }

  /** A status change riding on a reply or note: versioned, status times stamped. */
  async changeStatus(id: string, status: string): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE tickets SET status = ${status}, version = version + 1, updated_at = now(), ${statusTimestamps(status)}
        WHERE id = ${id}`,
    );
  }

  /** A reply or note that changes nothing else still moves the ticket up the "recently updated" list. */
  async touch(id: string): Promise<void> {
    await execute(this.db, sql`UPDATE tickets SET updated_at = now() WHERE id = ${id}`);
  }

  /** An agent's public reply at `at`: counted, and the first one stamps first_reply_at. */
  async recordAgentReply(id: string, at: Date): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE tickets SET agent_reply_count = agent_reply_count + 1, last_agent_reply_at = ${at},
              first_reply_at = coalesce(first_reply_at, ${at}), updated_at = now() WHERE id = ${id}`,
    );
  }

  /** A merge's participants: the source's requester and CCs become CCs of the target (existing ones stay). */
  async copyParticipantsAsCc(sourceId: string, targetId: string): Promise<void> {
    await execute(
      this.db,
      sql`INSERT INTO ticket_participants (ticket_id, contact_id, role)
         SELECT ${targetId}, contact_id, 'cc' FROM ticket_participants WHERE ticket_id = ${sourceId}
         ON CONFLICT (ticket_id, contact_id) DO NOTHING`,
    );
  }

  /** The merged ticket closes, pointing at its target, its counters moved over and no SLA due. */
  async closeAsMerged(sourceId: string, targetId: string): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE tickets SET status = 'closed', closed_at = now(), merged_into_id = ${targetId}, next_due_at = NULL,
                customer_message_count = 0, agent_reply_count = 0, version = version + 1, updated_at = now()
          WHERE id = ${sourceId}`,
    );
  }

  /** The merge target takes the source's tags, counters and reply times. */
  async absorbMerged(targetId: string, source: MergedTicketTotals): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE tickets SET version = version + 1, updated_at = now(),
                tags = array(SELECT DISTINCT x FROM unnest(tags || ${source.tags}::text[]) x ORDER BY 1),
                customer_message_count = customer_message_count + ${source.customer_message_count},
                agent_reply_count = agent_reply_count + ${source.agent_reply_count},
                last_customer_message_at = greatest(last_customer_message_at, ${source.last_customer_message_at}::timestamptz),
                last_agent_reply_at = greatest(last_agent_reply_at, ${source.last_agent_reply_at}::timestamptz),
                first_reply_at = least(first_reply_at, ${source.first_reply_at}::timestamptz)
          WHERE id = ${targetId}`,
    );
  }

  /** One audit row per change, written in the transaction of the change; no agent means the system. */
  async writeAudit(
    ticketId: string,
    agentId: string | null,
    action: string,
    changes: Record<string, unknown> = {},
  ): Promise<void> {
    await execute(
      this.db,
      sql`INSERT INTO ticket_audit (ticket_id, actor_type, actor_agent_id, action, changes)
          VALUES (${ticketId}, ${agentId ? 'agent' : 'system'}, ${agentId}, ${action}, ${JSON.stringify(changes)}::jsonb)`,
    );
  }

  // ── escalation commands (sla-worker → ticket.commands) ───────────────────

  /**
   * The ticket a command applies to. FOR NO KEY UPDATE: the command changes no key, so rows
   * referencing the ticket (messages, audit) can still be inserted meanwhile.
   */
  lockForCommand(id: string): Promise<EscalatedTicketRow | undefined> {
    return maybeOne<EscalatedTicketRow>(
      this.db,
      sql`SELECT id, number, subject, status, priority, team_id, assignee_id, channel, inbox_id
           FROM tickets WHERE id = ${id} FOR NO KEY UPDATE`,
    );
  }

  /** Records the command as applied; false when it already was (a redelivery changes nothing). */
  async recordCommand(commandId: string, ticketId: string): Promise<boolean> {
    const fresh = await rows<{ command_id: string }>(
      this.db,
      sql`INSERT INTO applied_ticket_commands (command_id, ticket_id) VALUES (${commandId}, ${ticketId})
         ON CONFLICT (command_id) DO NOTHING RETURNING command_id`,
    );
    return fresh.length > 0;
  }

  /** What the applied command did and skipped, per action. */
  async recordCommandResult(commandId: string, result: Record<string, unknown>[]): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE applied_ticket_commands SET result = ${JSON.stringify(result)}::jsonb WHERE command_id = ${commandId}`,
    );
  }

  /** An escalation's raised priority, moved team or assignee, versioned like an agent's change. */
  async applyEscalation(
    id: string,
    t: Pick<EscalatedTicketRow, 'priority' | 'team_id' | 'assignee_id'>,
  ): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE tickets SET priority = ${t.priority}, team_id = ${t.team_id}, assignee_id = ${t.assignee_id},
                        version = version + 1, updated_at = now() WHERE id = ${id}`,
    );
  }

  /**
   * The status an escalation's assignment leads to (new → open): only the column, since
   * applyEscalation versioned the change and no status timestamp follows from opening.
   */
  async setEscalatedStatus(id: string, status: string): Promise<void> {
    await execute(this.db, sql`UPDATE tickets SET status = ${status} WHERE id = ${id}`);
  }

  // ── escalation commands in batches: the statements above for many commands at once ──

  /**
   * lockForCommand and recordCommand for many commands (at most one per ticket) in one statement:
   * the tickets locked in id order (batches wait on each other instead of deadlocking), each with
   * the ids of its commands recorded now — a command already applied, or for a ticket that does not
   * exist, is not recorded (and an unknown ticket has no row) — and the facts SLA policies match on
   * (SlaRepository.lockTicket's), so re-targeting the clocks needs no second read.
   */
  lockAndRecordCommands(commands: readonly { commandId: string; ticketId: string }[]): Promise<CommandTicketRow[]> {
    return rows<CommandTicketRow>(
      this.db,
      sql`WITH c AS (
            SELECT * FROM unnest(${commands.map((c) => c.commandId)}::text[], ${commands.map((c) => c.ticketId)}::uuid[])
                       AS c(command_id, ticket_id)),
          t AS (
            SELECT id, number, subject, status, priority, team_id, assignee_id, channel, inbox_id, tags, category_id, type
              FROM tickets WHERE id IN (SELECT ticket_id FROM c) ORDER BY id FOR NO KEY UPDATE),
          fresh AS (
            INSERT INTO applied_ticket_commands (command_id, ticket_id)
            SELECT c.command_id, c.ticket_id FROM c JOIN t ON t.id = c.ticket_id
            ON CONFLICT (command_id) DO NOTHING RETURNING command_id, ticket_id)
          SELECT t.*,
                 EXISTS (SELECT 1 FROM ticket_sla s WHERE s.ticket_id = t.id AND s.metric = 'first_reply') AS ever,
                 coalesce(array(SELECT f.command_id FROM fresh f WHERE f.ticket_id = t.id), '{}') AS recorded
            FROM t`.named('oq_ticket_commands_lock'),
    );
  }

  /** applyEscalation for many tickets (the caller holds their locks). */
  async applyEscalations(
    changes: readonly Pick<EscalatedTicketRow, 'id' | 'priority' | 'team_id' | 'assignee_id'>[],
  ): Promise<void> {
    if (!changes.length) return;
    await execute(
      this.db,
      sql`UPDATE tickets t SET priority = x.priority, team_id = x.team_id, assignee_id = x.assignee_id,
                               version = t.version + 1, updated_at = now()
            FROM unnest(${changes.map((c) => c.id)}::uuid[], ${changes.map((c) => c.priority)}::text[],
                        ${changes.map((c) => c.team_id)}::uuid[], ${changes.map((c) => c.assignee_id)}::uuid[])
                 AS x(id, priority, team_id, assignee_id)
           WHERE t.id = x.id`.named('oq_ticket_escalations'),
    );
  }

  /**
   * What applied commands leave behind, in one statement: the tickets' escalated priority, team and
   * assignee (applyEscalation's update, for `tickets`), each command's system audit row
   * (writeAudit's 'sla_escalation'), its result (recordCommandResult) and the outbox jobs of them
   * all (OutboxRepository.insertMany's INSERT, so the relay's trigger fires once).
   */
  async finishCommands(
    tickets: readonly Pick<EscalatedTicketRow, 'id' | 'priority' | 'team_id' | 'assignee_id'>[],
    commands: readonly { ticketId: string; commandId: string; audit: Record<string, unknown>; result: unknown[] }[],
    outbox: readonly OutboxJob[],
  ): Promise<void> {
    if (!commands.length) return;
    const update = sql`UPDATE tickets t SET priority = x.priority, team_id = x.team_id, assignee_id = x.assignee_id,
                                version = t.version + 1, updated_at = now()
            FROM unnest(${tickets.map((c) => c.id)}::uuid[], ${tickets.map((c) => c.priority)}::text[],
                        ${tickets.map((c) => c.team_id)}::uuid[], ${tickets.map((c) => c.assignee_id)}::uuid[])
                 AS x(id, priority, team_id, assignee_id)
           WHERE t.id = x.id`;
    const audit = sql`INSERT INTO ticket_audit (ticket_id, actor_type, actor_agent_id, action, changes)
          SELECT ticket_id, 'system', NULL, 'sla_escalation', changes
            FROM unnest(${commands.map((c) => c.ticketId)}::uuid[], ${commands.map((c) => JSON.stringify(c.audit))}::jsonb[])
                 WITH ORDINALITY AS a(ticket_id, changes, n)
           ORDER BY n`;
    const results = sql`UPDATE applied_ticket_commands c SET result = x.result
            FROM unnest(${commands.map((c) => c.commandId)}::text[], ${commands.map((c) => JSON.stringify(c.result))}::jsonb[])
                 AS x(command_id, result)
           WHERE c.command_id = x.command_id`;
    await execute(
      this.db,
      outbox.length
        ? sql`WITH u AS (${update}), a AS (${audit}), r AS (${results}) ${outboxInsertSql(outbox)}`.named(
            'oq_ticket_commands_finish',
          )
        : sql`WITH u AS (${update}), a AS (${audit}) ${results}`.named('oq_ticket_commands_finish_quiet'),
    );
  }
}
