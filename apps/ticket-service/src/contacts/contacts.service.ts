import { Inject, Injectable, NotFoundException, UnprocessableEntityException } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { ContactMergeError, ContactMergeService } from './contact-merge.service';
import { TICKET_COLUMNS, TicketRow, toTicketView } from '../tickets/ticket.view';
import { Viewer, visibleContactSql, visibleIdentitySql, visibleTicketSql } from '../tickets/viewer';

/**
 * The agent-facing side of contacts: search, profile with every visible ticket,
 * suggestions. A contact is visible to an agent when one of its tickets is
 * (as requester or CC) — customers of other teams stay invisible (404) — and of
 * its identities only those on tickets the agent can see are shown or searched
 * (permissions/ticket-visibility.ts).
 */
@Injectable()
export class ContactsService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    private readonly merges: ContactMergeService,
  ) {}

  async assertVisible(viewer: Viewer, contactId: string, manager: EntityManager = this.ds.manager): Promise<void> {
    const params: unknown[] = [contactId];
    const [row] = await manager.query(
      `SELECT 1 FROM contacts c WHERE c.id = $1 AND ${visibleContactSql('c', viewer, params)}`,
      params,
    );
    if (!row) throw new NotFoundException(`contact ${contactId} not found`);
  }

  async search(viewer: Viewer, q: string, limit: number) {
    const prefix = q.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
    const phoneish = /^\+?[\d\s().-]+$/.test(q) ? q.replace(/[\s().-]/g, '') : null;
    const params: unknown[] = [prefix, prefix.toLowerCase(), phoneish ? phoneish + '%' : null, limit];
    const visible = visibleContactSql('c', viewer, params);
    const hitVisible = visibleIdentitySql('hi', viewer, params);
    const shown = visibleIdentitySql('ci', viewer, params);
    // Prefix matches use the text_pattern_ops indexes on identity values and lower(name). A hidden
    // identity neither matches nor shows: finding a contact by it would tell that it is theirs.
    const rows = await this.ds.query(
      `WITH hits AS (
         SELECT hi.contact_id FROM contact_identities hi
          WHERE (hi.value LIKE $1 OR hi.value LIKE $2 OR hi.value LIKE $3) AND ${hitVisible}
         UNION
         SELECT id FROM contacts WHERE lower(name) LIKE $2 AND merged_into_id IS NULL
       )
       SELECT c.id, c.name, c.created_at, c.updated_at,
              coalesce(json_agg(json_build_object('id', ci.id, 'kind', ci.kind, 'value', ci.value, 'verified', ci.verified)
                       ORDER BY ci.created_at) FILTER (WHERE ci.id IS NOT NULL), '[]') AS identities
         FROM contacts c
         JOIN (SELECT DISTINCT contact_id FROM hits) h ON h.contact_id = c.id
         LEFT JOIN contact_identities ci ON ci.contact_id = c.id AND ${shown}
        WHERE c.merged_into_id IS NULL AND ${visible}
        GROUP BY c.id
        ORDER BY c.updated_at DESC, c.id
        LIMIT $4`,
      params,
    );
    return { items: rows.map(toContactView) };
  }

  async get(viewer: Viewer, contactId: string) {
    await this.assertVisible(viewer, contactId);
    const [contact] = await this.ds.query(
      `SELECT id, name, merged_into_id, created_at, updated_at FROM contacts WHERE id = $1`,
      [contactId],
    );
    const shown: unknown[] = [contactId];
    const identities = await this.ds.query(
      `SELECT ci.id, ci.kind, ci.value, ci.verified, ci.linked_identity_id, ci.created_at FROM contact_identities ci
        WHERE ci.contact_id = $1 AND ${visibleIdentitySql('ci', viewer, shown)} ORDER BY ci.created_at, ci.id`,
      shown,
    );
    const params: unknown[] = [contactId];
    const tickets: TicketRow[] = await this.ds.query(
      `SELECT ${TICKET_COLUMNS} FROM tickets t
        WHERE (t.requester_id = $1 OR EXISTS (SELECT 1 FROM ticket_participants p WHERE p.ticket_id = t.id AND p.contact_id = $1))
          AND ${visibleTicketSql('t', viewer, params)}
        ORDER BY t.updated_at DESC, t.id DESC LIMIT 200`,
      params,
    );
    return {
      ...toContactView({ ...contact, identities: [] }),
      mergedIntoId: contact.merged_into_id,
      identities: identities.map((i: Record<string, unknown>) => ({
        id: i.id,
        kind: i.kind,
        value: i.value,
        verified: i.verified,
        linkedIdentityId: i.linked_identity_id,
        createdAt: i.created_at,
      })),
      tickets: tickets.map(toTicketView),
    };
  }

  /**
   * An agent's merge by hand. Both contacts must be visible: merging moves the
   * source's tickets, so an agent must not reach into customers they cannot see.
   */
  async merge(viewer: Viewer, sourceId: string, targetId: string) {
    const result = await this.ds.transaction(async (m) => {
      await this.assertVisible(viewer, sourceId, m);
      await this.assertVisible(viewer, targetId, m);
      try {
        return await this.merges.merge(m, sourceId, targetId, { type: 'agent', agentId: viewer.id });
      } catch (err) {
        if (err instanceof ContactMergeError) {
          if (err.code === 'not_found') throw new NotFoundException(err.message);
          throw new UnprocessableEntityException({ statusCode: 422, message: err.message, reason: err.code });
        }
        throw err;
      }
    });
    return { ...(await this.get(viewer, targetId)), merge: result };
  }

  async mergeSuggestions(viewer: Viewer, contactId: string) {
    await this.assertVisible(viewer, contactId);
    const params: unknown[] = [contactId];
    const visible = visibleContactSql('o', viewer, params);
    const shown = visibleIdentitySql('ci', viewer, params);
    const rows = await this.ds.query(
      `SELECT s.id, s.reason, s.created_at, o.id AS other_id, o.name AS other_name,
              coalesce((SELECT json_agg(json_build_object('kind', ci.kind, 'value', ci.value) ORDER BY ci.created_at)
                          FROM contact_identities ci WHERE ci.contact_id = o.id AND ${shown}), '[]') AS other_identities
         FROM merge_suggestions s
         JOIN contacts o ON o.id = CASE WHEN s.contact_id = $1 THEN s.other_contact_id ELSE s.contact_id END
        WHERE (s.contact_id = $1 OR s.other_contact_id = $1) AND s.status = 'open'
          AND o.merged_into_id IS NULL AND ${visible}
        ORDER BY s.created_at DESC`,
      params,
    );
    return {
      items: rows.map((r: Record<string, unknown>) => ({
        id: r.id,
        reason: r.reason,
        createdAt: r.created_at,
        contact: { id: r.other_id, name: r.other_name, identities: r.other_identities },
      })),
    };
  }
}

function toContactView(r: Record<string, unknown>) {
  return {
    id: r.id as string,
    name: r.name,
    identities: r.identities,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
