import { Injectable } from '@nestjs/common';
import { ContactRepository, Db } from '@oq/database';
import { OutboxService } from '../outbox/outbox.service';

export type MergeActor = { type: 'agent'; agentId: string } | { type: 'system' };

export class ContactMergeError extends Error {
  constructor(
    readonly code: 'same_contact' | 'not_found' | 'already_merged',
    message: string,
  ) {
    super(message);
    this.name = 'ContactMergeError';
  }
}

export interface MergeResult {
  sourceContactId: string;
  targetContactId: string;
  movedIdentities: number;
  movedTickets: string[];
}

/**
 * Merges one contact into another inside the caller's transaction. Nothing is
 * deleted: identities, requested tickets, participations and authored messages
 * move to the target (conversations follow their identities), and the source
 * keeps a `merged_into_id` pointer so old links still resolve. The repository is bound per
 * call to the caller's transaction (specs construct this service without Nest).
 */
@Injectable()
export class ContactMergeService {
  constructor(private readonly outbox: OutboxService) {}

  async merge(manager: Db, sourceContactId: string, targetContactId: string, actor: MergeActor): Promise<MergeResult> {
    if (sourceContactId === targetContactId)
      throw new ContactMergeError('same_contact', 'a contact cannot be merged into itself');
    const contacts = new ContactRepository(manager);
    const rows = await contacts.lockForMerge(sourceContactId, targetContactId);
    const source = rows.find((r) => r.id === sourceContactId);
    const target = rows.find((r) => r.id === targetContactId);
    if (!source || !target)
      throw new ContactMergeError('not_found', `contact ${!source ? sourceContactId : targetContactId} not found`);
    for (const c of [source, target])
      if (c.merged_into_id)
        throw new ContactMergeError('already_merged', `contact ${c.id} was already merged into ${c.merged_into_id}`);

    const s = sourceContactId;
    const t = targetContactId;
    const { movedIdentities, tickets } = await contacts.mergeInto(source, t, {
      type: actor.type,
      agentId: actor.type === 'agent' ? actor.agentId : null,
    });
    if (tickets.length)
      await this.outbox.write(
        manager,
        tickets.map((x) =>
          this.outbox.ticketEvent(
            'ticket.updated',
            { id: x.id, teamId: x.team_id, assigneeId: x.assignee_id },
            { requesterId: t, mergedContactId: s },
          ),
        ),
      );
    return {
      sourceContactId: s,
      targetContactId: t,
      movedIdentities,
      movedTickets: tickets.map((x) => x.id),
    };
  }

  /** Records that two contacts may be one person (spoofable evidence); agents decide. */
  async suggest(manager: Db, contactId: string, otherContactId: string, reason: string): Promise<void> {
    await new ContactRepository(manager).suggestMerge(contactId, otherContactId, reason);
  }
}
