import { Injectable } from '@nestjs/common';
import {
  JobName,
  JobPayloadInput,
  QueueName,
  TICKET_EVENTS,
  TicketEvent,
  TicketEventType,
  buildJob,
  ticketEventEntry,
} from '@oq/contracts';
import { Db, OutboxRepository } from '@oq/database';
import { Subject } from 'rxjs';

export interface OutboxEntry {
  /** A queue; a ticket event's address is fanned out to its subscribers (libs/contracts events.ts). */
  queue: QueueName | typeof TICKET_EVENTS;
  jobName: JobName;
  payload: unknown;
  jobId?: string;
  delayMs?: number;
}

export interface TicketRef {
  id: string;
  teamId: string | null;
  assigneeId: string | null;
}

/**
 * Writes jobs into the outbox table inside the caller's transaction, so a job
 * exists if and only if the change that caused it committed. The relay moves
 * rows to BullMQ. Payloads are validated here, before they are stored.
 */
@Injectable()
export class OutboxService {
  job<N extends JobName>(
    queue: QueueName,
    jobName: N,
    data: JobPayloadInput<N>,
    opts: { jobId?: string; delayMs?: number } = {},
  ): OutboxEntry {
    return { queue, jobName, payload: buildJob(jobName, data), jobId: opts.jobId, delayMs: opts.delayMs };
  }

  /** A domain event: the relay hands it to its subscribers' queues (libs/contracts events.ts) and agents' sockets. */
  ticketEvent(type: TicketEventType, ticket: TicketRef, data: Record<string, unknown> = {}): OutboxEntry {
    return ticketEventEntry(type, ticket, data);
  }

  /** In the caller's transaction (`manager`), as one INSERT: the trigger wakes the relay once per commit. */
  async write(manager: Db, entries: OutboxEntry[]): Promise<void> {
    // Bound per call rather than injected: callers (and specs) construct this service without Nest.
    await new OutboxRepository(manager).insertMany(entries);
  }
}

/**
 * In-process stream of ticket events the relay has published; the realtime
 * gateway subscribes and emits them to agents' socket rooms (the socket.io Redis
 * adapter carries them to sockets held by other replicas).
 */
@Injectable()
export class TicketEventBus {
  readonly events$ = new Subject<TicketEvent>();
  publish(event: TicketEvent) {
    this.events$.next(event);
  }
}
