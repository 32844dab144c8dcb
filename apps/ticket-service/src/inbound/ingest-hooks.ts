import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { OutboxEntry } from '../outbox/outbox.service';

/** What one ingested message changed on its ticket, handed to hooks inside the message's transaction. */
export interface IngestChange {
  ticketId: string;
  ticketCreated: boolean;
  teamId: string;
  assigneeId: string | null;
  messageId: string;
  inboxId: string;
  channel: string;
  /** Who sent it: the identity it came from and that identity's contact. */
  senderIdentityId: string;
  senderContactId: string;
  /** The message's source time capped at ingest time (SLA clocks start here). */
  sourceTime: Date;
  direction: 'inbound' | 'outbound';
  kind: 'message' | 'call_log';
  /** Auto-replies, bounces and outbound call logs do not wait for an agent. */
  awaitsReply: boolean;
  statusFrom: string | null;
  statusTo: string;
  priority: string;
  /** A missed inbound call, voicemail or busy line: the ticket needs a call back. */
  missedCall: boolean;
}

export type IngestHook = (manager: EntityManager, change: IngestChange) => Promise<OutboxEntry[] | void>;
/** A hook's form for the set-based batch: the batch's changes in batch order, in one call. */
export type IngestBatchHook = (manager: EntityManager, changes: IngestChange[]) => Promise<OutboxEntry[] | void>;

/**
 * Extension point for work that must commit with an ingested message (SLA
 * clocks): a hook runs inside the message's SAVEPOINT, so if it throws, that
 * message alone rolls back and is retried. A hook with a batch form runs once
 * for the set-based batch (inside its savepoint: if it throws, every message
 * of the set goes the per-message way); one without runs per message.
 */
@Injectable()
export class IngestHooks {
  private readonly hooks: { one: IngestHook; batch?: IngestBatchHook }[] = [];

  register(hook: IngestHook, batch?: IngestBatchHook): void {
    this.hooks.push({ one: hook, batch });
  }

  async run(manager: EntityManager, change: IngestChange): Promise<OutboxEntry[]> {
    const out: OutboxEntry[] = [];
    for (const { one } of this.hooks) {
      const entries = await one(manager, change);
      if (entries) out.push(...entries);
    }
    return out;
  }

  async runBatch(manager: EntityManager, changes: IngestChange[]): Promise<OutboxEntry[]> {
    const out: OutboxEntry[] = [];
    if (!changes.length) return out;
    for (const { one, batch } of this.hooks) {
      if (batch) {
        const entries = await batch(manager, changes);
        if (entries) out.push(...entries);
        continue;
      }
      for (const change of changes) {
        const entries = await one(manager, change);
        if (entries) out.push(...entries);
      }
    }
    return out;
  }
}
