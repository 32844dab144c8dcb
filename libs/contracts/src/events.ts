import { randomUUID } from 'node:crypto';
import { buildJob } from './jobs';
import { TICKET_EVENT_TYPES, TicketEvent } from './payloads';
import { JobName, QueueName } from './queues';

export type TicketEventType = (typeof TICKET_EVENT_TYPES)[number];

/**
 * The outbox address of a ticket event. Not a queue: the relay fans each event out to the queue of
 * every consumer subscribed to its type (EVENT_SUBSCRIPTIONS), and publishes every event to
 * ticket-service's in-process bus (agents' sockets), after the commit that wrote it.
 */
export const TICKET_EVENTS = 'events';

/**
 * The address this release writes ticket events to: still `sla`, because during a rolling deploy
 * the previous release's relay claims rows too, and it knows no `events` (it would dead-letter
 * them) but delivers `sla` rows to the sla queue its sla-worker reads. This release's relay fans
 * rows at either address out (isTicketEventRow). The release after writes TICKET_EVENTS.
 */
export const TICKET_EVENTS_WRITTEN_TO = QueueName.Sla;

/** An outbox row the relay fans out as a ticket event (either address, see above). */
export function isTicketEventRow(row: { queue: string; job_name: string }): boolean {
  return (
    row.job_name === JobName.TicketEvent && (row.queue === TICKET_EVENTS || row.queue === TICKET_EVENTS_WRITTEN_TO)
  );
}

/**
 * Who consumes which ticket events — one BullMQ queue per consuming service, under the same
 * hash-tagged prefix as every queue, so a slow or stopped consumer delays only its own events and
 * a consumer never reads (and drops) events it does not want. A new consumer (reports, webhooks,
 * work rules) adds a line here and a queue in queues.ts; the relay needs no change.
 */
export const EVENT_SUBSCRIPTIONS = [
  /** Clock changes re-arm SLA timers. */
  { consumer: 'sla-worker', queue: QueueName.SlaEvents, types: ['sla.changed'] },
] as const satisfies readonly { consumer: string; queue: QueueName; types: readonly TicketEventType[] }[];

/** The queues an event of this type goes to (none: only agents' sockets see it). */
export function subscriberQueues(type: TicketEventType): QueueName[] {
  return EVENT_SUBSCRIPTIONS.filter((s) => (s.types as readonly TicketEventType[]).includes(type)).map((s) => s.queue);
}

/** An event's job id on each subscriber queue: relaying the same outbox row twice queues it once. */
export function ticketEventJobId(event: Pick<TicketEvent, 'eventId'>): string {
  return `event-${event.eventId}`;
}

/** The outbox entry of one ticket event (ticket-service's changes, sla-worker's warnings and breaches). */
export function ticketEventEntry(
  type: TicketEventType,
  ticket: { id: string; teamId: string | null; assigneeId: string | null },
  data: Record<string, unknown> = {},
  at: Date = new Date(),
): { queue: typeof TICKET_EVENTS_WRITTEN_TO; jobName: JobName.TicketEvent; payload: TicketEvent } {
  return {
    queue: TICKET_EVENTS_WRITTEN_TO,
    jobName: JobName.TicketEvent,
    payload: buildJob(JobName.TicketEvent, {
      v: 1,
      eventId: randomUUID(),
      type,
      ticketId: ticket.id,
      teamId: ticket.teamId,
      assigneeId: ticket.assigneeId,
      occurredAt: at.toISOString(),
      data,
    }),
  };
}
