import { Inject, Injectable } from '@nestjs/common';
import { QueueFilter, QueueRow, TicketRepository } from '@oq/database';
import { DataSource } from 'typeorm';
import { OutboxService } from '../outbox/outbox.service';
import { SlaClockService } from '../sla/sla-clock.service';
import { decodeCursor, encodeCursor, toTicketView } from '../tickets/ticket.view';
import { badCursor } from '../tickets/tickets.service';
import { Viewer } from '../permissions/ticket-visibility';
import { QueueNextBody, QueueQuery } from './queue.dto';

/**
 * The repository filter for a queue query (one row more than the page, to know whether another
 * follows); null when the cursor is not one we issued. Shared with bench:queue's raw server.
 */
export function queueFilter(viewer: Viewer, q: QueueQuery): QueueFilter | null {
  const filter: QueueFilter = {
    status: q.status,
    channel: q.channel,
    teamId: q.teamId,
    assigneeId: q.assignee === 'unassigned' ? null : q.assignee === 'me' ? viewer.id : q.assignee,
    tag: q.tag,
    categoryId: q.categoryId,
    limit: q.limit + 1,
  };
  if (q.cursor) {
    const c = decodeCursor(q.cursor, 4);
    if (!c) return null;
    filter.after = [c[0], c[1], c[2], c[3]];
  }
  return filter;
}

/** A page of the queue from the rows `queueFilter` asked for, with the cursor of the next one. */
export function queuePage(rows: QueueRow[], limit: number) {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toTicketView),
    nextCursor: rows.length > limit ? encodeCursor([last.k_due, last.k_rank, last.k_created, last.id]) : null,
  };
}

@Injectable()
export class QueueService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    private readonly tickets: TicketRepository,
    private readonly outbox: OutboxService,
    private readonly sla: SlaClockService,
  ) {}

  /**
   * Hot path (bench:queue): TicketRepository.queue keeps its hand-written keyset SQL (one
   * ordered range scan per team and one for "assigned to me", merged), see there.
   */
  async list(viewer: Viewer, q: QueueQuery) {
    const filter = queueFilter(viewer, q);
    if (!filter) throw badCursor();
    return queuePage(await this.tickets.queue(viewer, filter), q.limit);
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
      const tickets = this.tickets.with(m);
      const picked = await tickets.lockNextUnassigned(viewer, { teamId: body.teamId, channel: body.channel });
      if (!picked) return null;
      const row = await tickets.assignFromQueue(picked.id, viewer.id);
      const changes: Record<string, unknown> = { assignee_id: [null, viewer.id], via: 'queue_next' };
      if (picked.status !== row.status) changes.status = [picked.status, row.status];
      if (changes.status) await this.sla.onStatusChange(m, picked.id, picked.status, row.status);
      await tickets.writeAudit(picked.id, viewer.id, 'updated', changes);
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
