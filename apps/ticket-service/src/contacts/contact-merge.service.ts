import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
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
 * keeps a `merged_into_id` pointer so old links still resolve.
 */
@Injectable()
export class ContactMergeService {
  constructor(private readonly outbox: OutboxService) {}

  async merge(
    manager: EntityManager,
    sourceContactId: string,
    targetContactId: string,
    actor: MergeActor,
  ): Promise<MergeResult> {
    if (sourceContactId === targetContactId)
      throw new ContactMergeError('same_contact', 'a contact cannot be merged into itself');
    // Both rows locked in id order so two opposite merges cannot deadlock or both succeed.
    const rows: { id: string; name: string | null; merged_into_id: string | null }[] = await manager.query(
      'SELECT id, name, merged_into_id FROM contacts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE',
      [[sourceContactId, targetContactId]],
    );
    const source = rows.find((r) => r.id === sourceContactId);
    const target = rows.find((r) => r.id === targetContactId);
    if (!source || !target)
      throw new ContactMergeError('not_found', `contact ${!source ? sourceContactId : targetContactId} not found`);
    for (const c of [source, target])
      if (c.merged_into_id)
        throw new ContactMergeError('already_merged', `contact ${c.id} was already merged into ${c.merged_into_id}`);

    const s = sourceContactId;
    const t = targetContactId;
    // UPDATE through TypeORM resolves to [rows, rowCount].
    const [, movedIdentities]: [unknown, number] = await manager.query(
      'UPDATE contact_identities SET contact_id = $2 WHERE contact_id = $1',
      [s, t],
    );
    const [tickets]: [{ id: string; team_id: string; assignee_id: string | null }[]] = await manager.query(
      `UPDATE tickets SET requester_id = $2, version = version + 1, updated_at = now()
       WHERE requester_id = $1 RETURNING id, team_id, assignee_id`,
      [s, t],
    );
    // A requester role wins over CC when both contacts took part in the same ticket.
    await manager.query(
      `INSERT INTO ticket_participants (ticket_id, contact_id, role)
       SELECT ticket_id, $2, role FROM ticket_participants WHERE contact_id = $1
       ON CONFLICT (ticket_id, contact_id) DO UPDATE
         SET role = CASE WHEN excluded.role = 'requester' THEN 'requester' ELSE ticket_participants.role END`,
      [s, t],
    );
    await manager.query('DELETE FROM ticket_participants WHERE contact_id = $1', [s]);
    await manager.query('UPDATE messages SET author_contact_id = $2 WHERE author_contact_id = $1', [s, t]);
    // Flatten chains: contacts merged into the source now point at the target directly.
    await manager.query('UPDATE contacts SET merged_into_id = $2, updated_at = now() WHERE merged_into_id = $1', [
      s,
      t,
    ]);
    await manager.query(
      `UPDATE merge_suggestions SET status = 'merged'
       WHERE status = 'open' AND ((contact_id = $1 AND other_contact_id = $2) OR (contact_id = $2 AND other_contact_id = $1))`,
      [s, t],
    );
    // Suggestions about the source and a third contact now concern the target.
    for (const [col, other] of [
      ['contact_id', 'other_contact_id'],
      ['other_contact_id', 'contact_id'],
    ])
      await manager.query(
        `UPDATE merge_suggestions ms SET ${col} = $2
         WHERE ms.${col} = $1 AND ms.${other} <> $2 AND ms.status = 'open'
           AND NOT EXISTS (SELECT 1 FROM merge_suggestions x
                           WHERE (x.contact_id = $2 AND x.other_contact_id = ms.${other})
                              OR (x.other_contact_id = $2 AND x.contact_id = ms.${other}))`,
        [s, t],
      );
    await manager.query(
      `UPDATE merge_suggestions SET status = 'dismissed'
       WHERE status = 'open' AND (contact_id = $1 OR other_contact_id = $1)`,
      [s],
    );
    await manager.query('UPDATE contacts SET merged_into_id = $2, updated_at = now() WHERE id = $1', [s, t]);
    await manager.query(
      'UPDATE contacts SET name = $2, updated_at = now() WHERE id = $1 AND name IS NULL AND $2::text IS NOT NULL',
      [t, source.name],
    );

    if (tickets.length) {
      const actorAgent = actor.type === 'agent' ? actor.agentId : null;
      await manager.query(
        `INSERT INTO ticket_audit (ticket_id, actor_type, actor_agent_id, action, changes)
         SELECT id, $2, $3, 'requester_merged', jsonb_build_object('requester_id', jsonb_build_array($4::text, $5::text))
         FROM unnest($1::uuid[]) AS id`,
        [tickets.map((x) => x.id), actor.type, actorAgent, s, t],
      );
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
    }
    return {
      sourceContactId: s,
      targetContactId: t,
      movedIdentities,
      movedTickets: tickets.map((x) => x.id),
    };
  }

  /** Records that two contacts may be one person (spoofable evidence); agents decide. */
  async suggest(manager: EntityManager, contactId: string, otherContactId: string, reason: string): Promise<void> {
    await manager.query(
      `INSERT INTO merge_suggestions (contact_id, other_contact_id, reason)
       SELECT $1, $2, $3
       WHERE NOT EXISTS (SELECT 1 FROM merge_suggestions WHERE contact_id = $2 AND other_contact_id = $1)
       ON CONFLICT (contact_id, other_contact_id) DO NOTHING`,
      [contactId, otherContactId, reason],
    );
  }
}
