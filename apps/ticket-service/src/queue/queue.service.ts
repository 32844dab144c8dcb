import { Inject, Injectable } from '@nestjs/common';
import { OPEN_TICKET_STATUSES, QUEUE_NEXT_STATUSES, statusAfterAssignmentSql, statusInSql } from '@oq/contracts';
import { DataSource } from 'typeorm';
import { OutboxService } from '../outbox/outbox.service';
import { SlaClockService } from '../sla/sla-clock.service';
import { writeTicketAudit } from '../tickets/ticket-audit';
import { TICKET_COLUMNS, TicketRow, decodeCursor, encodeCursor, toTicketView } from '../tickets/ticket.view';
import { badCursor } from '../tickets/tickets.service';
import { Viewer } from '../tickets/viewer';
import { QueueNextBody, QueueQuery } from './queue.dto';

/**
 * The queue's sort key, identical to the expressions of the keyset indexes
 * (migration 1764000003000): due time with NULLs as +infinity, priority negated
 * so every column ascends, then age and id. `(key) > (cursor)` is one range scan.
 */
const KEY = `coalesce(t.next_due_at, 'infinity'::timestamptz), (-t.priority_rank), t.created_at, t.id`;
const KEY_TEXT = `coalesce(t.next_due_at, 'infinity'::timestamptz)::text AS k_due, (-t.priority_rank)::text AS k_rank,
  t.created_at::text AS k_created`;
/** `t.status IN ('new','open','pending','on_hold')`: the keyset indexes' predicate, so they serve the queue. */
const OPEN = statusInSql(OPEN_TICKET_STATUSES, 't.status');
/** `t.status IN ('new','open')`: what queue/next hands out. */
const NEXT = statusInSql(QUEUE_NEXT_STATUSES, 't.status');

@Injectable()
export class QueueService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    private readonly outbox: OutboxService,
    private readonly sla: SlaClockService,
  ) {}

  /**
   * Hot path (bench:queue): plain SQL. For a non-admin agent the visible set is
   * "my teams' tickets OR assigned to me"; an OR over the whole table would scan
   * the global index and filter. Instead each team (and "assigned to me") is an
   * ordered range scan on its own keyset index, LIMITed, and the pieces are
   * merged: cost ~ teams × page size, whatever the table holds.
   */
  async list(viewer: Viewer, q: QueueQuery) {
    const params: unknown[] = [];
    const p = (v: unknown) => (params.push(v), `$${params.length}`);
    const filters: string[] = [OPEN];
    if (q.status) filters.push(`t.status = ANY(${p(q.status)}::text[])`);
    if (q.channel) filters.push(`t.channel = ANY(${p(q.channel)}::text[])`);
    if (q.assignee === 'unassigned') filters.push(`t.assignee_id IS NULL`);
    else if (q.assignee) filters.push(`t.assignee_id = ${p(q.assignee === 'me' ? viewer.id : q.assignee)}::uuid`);
    if (q.tag) filters.push(`t.tags @> ARRAY[${p(q.tag)}::text]`);
    if (q.categoryId) filters.push(`t.category_id = ${p(q.categoryId)}::uuid`);
    if (q.cursor) {
      const c = decodeCursor(q.cursor, 4);
      if (!c) throw badCursor();
      filters.push(
        `(${KEY}) > (${p(c[0])}::timestamptz, ${p(c[1])}::smallint, ${p(c[2])}::timestamptz, ${p(c[3])}::uuid)`,
      );
    }
    const limit = p(q.limit + 1);
    const where = filters.join(' AND ');
    const piece = (extra: string) =>
      `(SELECT ${TICKET_COLUMNS}, ${KEY_TEXT} FROM tickets t WHERE ${extra} AND ${where} ORDER BY ${KEY} LIMIT ${limit})`;

    let sql: string;
    if (viewer.role === 'admin') {
      sql = piece(q.teamId ? `t.team_id = ${p(q.teamId)}::uuid` : 'TRUE');
    } else {
      const teams = q.teamId ? viewer.teamIds.filter((id) => id === q.teamId) : viewer.teamIds;
      const pieces = teams.map((id) => piece(`t.team_id = ${p(id)}::uuid`));
      // Tickets assigned to me in teams I am not in (an admin assigned them, or the team moved).
      const me = p(viewer.id);
      const mine = [`t.assignee_id = ${me}::uuid`];
      if (q.teamId) mine.push(`t.team_id = ${p(q.teamId)}::uuid`);
      if (teams.length) mine.push(`t.team_id <> ALL(${p(teams)}::uuid[])`);
      pieces.push(piece(mine.join(' AND ')));
      sql = `SELECT * FROM (${pieces.join(' UNION ALL ')}) u
              ORDER BY coalesce(u.next_due_at, 'infinity'::timestamptz), u.k_rank::smallint, u.created_at, u.id
              LIMIT ${limit}`;
    }
    const rows = await this.ds.query(sql, params);
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toTicketView),
      nextCursor: more ? encodeCursor([last.k_due, last.k_rank, last.k_created, last.id]) : null,
    };
  }

  /**
   * Hands the caller the most urgent unassigned ticket it may take. SKIP LOCKED
   * lets concurrent callers pass each other's candidate instead of queueing on it,
   * so N agents pressing "next" at once get N different tickets.
   * Only new/open work is handed out: pending and on-hold tickets wait on someone else.
   */
  async next(viewer: Viewer, body: QueueNextBody) {
    if (viewer.role !== 'admin' && !viewer.teamIds.length) return null;
    return this.ds.transaction(async (m) => {
      const params: unknown[] = [];
      const p = (v: unknown) => (params.push(v), `$${params.length}`);
      const where = [NEXT, `t.assignee_id IS NULL`];
      if (viewer.role !== 'admin') where.push(`t.team_id = ANY(${p(viewer.teamIds)}::uuid[])`);
      if (body.teamId) where.push(`t.team_id = ${p(body.teamId)}::uuid`);
      if (body.channel) where.push(`t.channel = ANY(${p(body.channel)}::text[])`);
      const [picked] = await m.query(
        `SELECT t.id, t.status, t.team_id FROM tickets t WHERE ${where.join(' AND ')}
          ORDER BY ${KEY} LIMIT 1 FOR UPDATE SKIP LOCKED`,
        params,
      );
      if (!picked) return null;
      // An UPDATE through TypeORM resolves to [rows, rowCount].
      const [[row]]: [TicketRow[], number] = await m.query(
        `UPDATE tickets t SET assignee_id = $2, status = ${statusAfterAssignmentSql('status')},
                version = version + 1, updated_at = now()
          WHERE t.id = $1 RETURNING ${TICKET_COLUMNS}`,
        [picked.id, viewer.id],
      );
      const changes: Record<string, unknown> = { assignee_id: [null, viewer.id], via: 'queue_next' };
      if (picked.status !== row.status) changes.status = [picked.status, row.status];
      if (changes.status) await this.sla.onStatusChange(m, picked.id, picked.status, row.status);
      await writeTicketAudit(m, picked.id, viewer.id, 'updated', changes);
      const ref = { id: picked.id, teamId: picked.team_id, assigneeId: viewer.id };
      const events = [
        this.outbox.ticketEvent('ticket.assigned', ref, { from: null, to: viewer.id, via: 'queue_next' }),
      ];
      if (changes.status)
        events.push(this.outbox.ticketEvent('ticket.status_changed', ref, { from: picked.status, to: row.status }));
      await this.outbox.write(m, events);
      return toTicketView(row);
    });
  }
}
