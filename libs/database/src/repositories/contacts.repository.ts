import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db, execute, maybeOne, one, rows } from '../sql/db';
import { sql } from '../sql/sql';
import { TICKET_COLUMNS, type TicketRow } from './tickets.repository';
import { Viewer, visibleContacts, visibleIdentities, visibleTickets } from './visibility';

/** An identity as the resolver finds it: the identity and its contact. */
export interface IdentityOwnerRow {
  id: string;
  contact_id: string;
}

export interface NewIdentity {
  kind: string;
  value: string;
  verified: boolean;
  /** The contact it belongs to; null creates a contact (named `name`) for it. */
  contactId: string | null;
  linkedIdentityId: string | null;
  name: string | null;
}

/** The contact the identity was placed on, and the identity, or null when another transaction had inserted it. */
export interface CreatedIdentityRow {
  contact_id: string;
  identity_id: string | null;
}

/** A contact as a merge locks it. */
export interface MergeCandidateRow {
  id: string;
  name: string | null;
  merged_into_id: string | null;
}

/** Who merged: an agent, or ingest on a provider-verified link. */
export interface MergeActorInput {
  type: 'agent' | 'system';
  agentId: string | null;
}

/** A ticket whose requester a merge moved, with what decides who sees it. */
export interface MovedTicketRow {
  id: string;
  team_id: string;
  assignee_id: string | null;
}

export interface MergedContactRows {
  movedIdentities: number;
  tickets: MovedTicketRow[];
}

/** A shown identity in a search hit or suggestion. */
export interface ContactIdentityJson {
  id: string;
  kind: string;
  value: string;
  verified: boolean;
}

export interface ContactSearchRow {
  id: string;
  name: string | null;
  created_at: Date;
  updated_at: Date;
  /** Only identities the viewer may see, oldest first. */
  identities: ContactIdentityJson[];
}

export interface ContactSearchInput {
  /** A LIKE pattern matching identity values by prefix (case kept). */
  prefix: string;
  /** The same pattern lower-cased: emails are stored lower-cased, names compare as lower(name). */
  lowerPrefix: string;
  /** A LIKE pattern for a phone-ish query with separators removed, or null. */
  phonePrefix: string | null;
  limit: number;
}

export interface ContactRow {
  id: string;
  name: string | null;
  merged_into_id: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface IdentityRow {
  id: string;
  kind: string;
  value: string;
  verified: boolean;
  linked_identity_id: string | null;
  created_at: Date;
}

export interface MergeSuggestionRow {
  id: string;
  reason: string;
  created_at: Date;
  other_id: string;
  other_name: string | null;
  /** The other contact's identities the viewer may see, oldest first. */
  other_identities: { kind: string; value: string }[];
}

/*
 * The same columns as TicketRepository's ticket reads (TicketRow): a contact's profile lists its
 * tickets in the shape every ticket view takes.
 */
/** merge_suggestions' two contact columns, each way round (a suggestion is unordered). */
const SUGGESTION_SIDES = [
  [sql.raw('contact_id'), sql.raw('other_contact_id')],
  [sql.raw('other_contact_id'), sql.raw('contact_id')],
] as const;

/**
 * Customers, every identity they write from, links between identities, and merges.
 * Tables: contacts, contact_identities, merge_suggestions. A merge also moves the source's
 * tickets, participations and messages (and audits the moved tickets): one operation, so
 * those statements live in `mergeInto` rather than in the tickets' and messages' repositories.
 */
@Injectable()
export class ContactRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): ContactRepository {
    return new ContactRepository(db);
  }

  // ── the resolver (ingest hot path: per inbound message, hence named statements) ──

  /** The identity (kind, value), normalised by the caller, and its contact. */
  findIdentity(kind: string, value: string): Promise<IdentityOwnerRow | undefined> {
    return maybeOne<IdentityOwnerRow>(
      this.db,
      sql`SELECT id, contact_id FROM contact_identities WHERE kind = ${kind} AND value = ${value}`.named(
        'oq_contact_find_identity',
      ),
    );
  }

  /**
   * Contact (unless given) and identity in one round trip; the identity insert is the real
   * guard: a null identity_id means another transaction inserted (kind, value) first, and the
   * contact made here (if any) is the caller's to drop.
   */
  createIdentity(i: NewIdentity): Promise<CreatedIdentityRow> {
    return one<CreatedIdentityRow>(
      this.db,
      sql`WITH c AS (
            INSERT INTO contacts (name) SELECT ${i.name} WHERE ${i.contactId}::uuid IS NULL RETURNING id),
          owner AS (SELECT COALESCE(${i.contactId}::uuid, (SELECT id FROM c)) AS id),
          i AS (
            INSERT INTO contact_identities (contact_id, kind, value, verified, linked_identity_id)
            SELECT id, ${i.kind}, ${i.value}, ${i.verified}, ${i.linkedIdentityId} FROM owner
            ON CONFLICT (kind, value) DO NOTHING RETURNING id)
          SELECT (SELECT id FROM owner) AS contact_id, (SELECT id FROM i) AS identity_id`.named(
        'oq_contact_create_identity',
      ),
    );
  }

  /** Drops a contact a lost identity race left without identities. */
  async deleteContact(id: string): Promise<void> {
    await execute(this.db, sql`DELETE FROM contacts WHERE id = ${id}`.named('oq_contact_delete'));
  }

  /**
   * A contact without a name (or a blank one) takes `name`; a name it has is never replaced
   * by a later message's (each message keeps its own, messages.sender_name).
   */
  async nameIfUnnamed(contactId: string, name: string): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE contacts SET name = ${name}, updated_at = now() WHERE id = ${contactId} AND coalesce(btrim(name), '') = ''`.named(
        'oq_contact_name_if_unnamed',
      ),
    );
  }

  /** Records which identity `identityId` stands for (a wa_id's phone): first link wins, never overwritten. */
  async linkIdentity(identityId: string, linkedIdentityId: string): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE contact_identities SET linked_identity_id = ${linkedIdentityId}
           WHERE id = ${identityId} AND linked_identity_id IS NULL`.named('oq_contact_link_identity'),
    );
  }

  /**
   * Records that two contacts may be one person, once per unordered pair. Runs per message of
   * a sender whose unverified link points at another contact, hence named.
   */
  async suggestMerge(contactId: string, otherContactId: string, reason: string): Promise<void> {
    await execute(
      this.db,
      sql`INSERT INTO merge_suggestions (contact_id, other_contact_id, reason)
          SELECT ${contactId}::uuid, ${otherContactId}::uuid, ${reason}
          WHERE NOT EXISTS (SELECT 1 FROM merge_suggestions WHERE contact_id = ${otherContactId}::uuid AND other_contact_id = ${contactId}::uuid)
          ON CONFLICT (contact_id, other_contact_id) DO NOTHING`.named('oq_contact_suggest_merge'),
    );
  }

  // ── merge ──

  /** Both contacts, locked in id order so two opposite merges cannot deadlock or both succeed. */
  lockForMerge(sourceId: string, targetId: string): Promise<MergeCandidateRow[]> {
    return rows<MergeCandidateRow>(
      this.db,
      sql`SELECT id, name, merged_into_id FROM contacts WHERE id = ANY(${[sourceId, targetId]}::uuid[]) ORDER BY id FOR UPDATE`,
    );
  }

  /**
   * Moves everything of `source` to `targetId` (both locked by `lockForMerge`, neither merged):
   * identities, requested tickets (audited as requester_merged), participations and authored
   * messages; flattens merge chains, carries over merge suggestions and marks the source merged.
   * Nothing is deleted but the source's participations (now the target's).
   */
  async mergeInto(
    source: { id: string; name: string | null },
    targetId: string,
    actor: MergeActorInput,
  ): Promise<MergedContactRows> {
    const s = source.id;
    const t = targetId;
    const movedIdentities = await execute(
      this.db,
      sql`UPDATE contact_identities SET contact_id = ${t} WHERE contact_id = ${s}`,
    );
    const tickets = await rows<MovedTicketRow>(
      this.db,
      sql`UPDATE tickets SET requester_id = ${t}, version = version + 1, updated_at = now()
          WHERE requester_id = ${s} RETURNING id, team_id, assignee_id`,
    );
    // A requester role wins over CC when both contacts took part in the same ticket.
    await execute(
      this.db,
      sql`INSERT INTO ticket_participants (ticket_id, contact_id, role)
          SELECT ticket_id, ${t}::uuid, role FROM ticket_participants WHERE contact_id = ${s}
          ON CONFLICT (ticket_id, contact_id) DO UPDATE
            SET role = CASE WHEN excluded.role = 'requester' THEN 'requester' ELSE ticket_participants.role END`,
    );
    await execute(this.db, sql`DELETE FROM ticket_participants WHERE contact_id = ${s}`);
    await execute(this.db, sql`UPDATE messages SET author_contact_id = ${t} WHERE author_contact_id = ${s}`);
    // Flatten chains: contacts merged into the source now point at the target directly.
    await execute(
      this.db,
      sql`UPDATE contacts SET merged_into_id = ${t}, updated_at = now() WHERE merged_into_id = ${s}`,
    );
    await execute(
      this.db,
      sql`UPDATE merge_suggestions SET status = 'merged'
          WHERE status = 'open' AND ((contact_id = ${s} AND other_contact_id = ${t}) OR (contact_id = ${t} AND other_contact_id = ${s}))`,
    );
    // Suggestions about the source and a third contact now concern the target.
    for (const [col, other] of SUGGESTION_SIDES)
      await execute(
        this.db,
        sql`UPDATE merge_suggestions ms SET ${col} = ${t}
            WHERE ms.${col} = ${s} AND ms.${other} <> ${t} AND ms.status = 'open'
              AND NOT EXISTS (SELECT 1 FROM merge_suggestions x
                              WHERE (x.contact_id = ${t} AND x.other_contact_id = ms.${other})
                                 OR (x.other_contact_id = ${t} AND x.contact_id = ms.${other}))`,
      );
    await execute(
      this.db,
      sql`UPDATE merge_suggestions SET status = 'dismissed'
          WHERE status = 'open' AND (contact_id = ${s} OR other_contact_id = ${s})`,
    );
    await execute(this.db, sql`UPDATE contacts SET merged_into_id = ${t}, updated_at = now() WHERE id = ${s}`);
    await execute(
      this.db,
      sql`UPDATE contacts SET name = ${source.name}, updated_at = now()
          WHERE id = ${t} AND name IS NULL AND ${source.name}::text IS NOT NULL`,
    );
    if (tickets.length)
      await execute(
        this.db,
        sql`INSERT INTO ticket_audit (ticket_id, actor_type, actor_agent_id, action, changes)
            SELECT id, ${actor.type}, ${actor.agentId}::uuid, 'requester_merged',
                   jsonb_build_object('requester_id', jsonb_build_array(${s}::text, ${t}::text))
            FROM unnest(${tickets.map((x) => x.id)}::uuid[]) AS id`,
      );
    return { movedIdentities, tickets };
  }

  // ── the contacts API (the one visibility rule: visibility.ts) ──

  /**
   * Contacts matching the query by a prefix of a visible identity or of the name, with their
   * visible identities, latest activity first. Prefix matches use the text_pattern_ops indexes
   * on identity values and lower(name). A hidden identity neither matches nor shows: finding a
   * contact by it would tell that it is theirs.
   */
  search(viewer: Viewer, q: ContactSearchInput): Promise<ContactSearchRow[]> {
    return rows<ContactSearchRow>(
      this.db,
      sql`WITH hits AS (
            SELECT hi.contact_id FROM contact_identities hi
             WHERE (hi.value LIKE ${q.prefix} OR hi.value LIKE ${q.lowerPrefix} OR hi.value LIKE ${q.phonePrefix})
               AND ${visibleIdentities(viewer, 'hi')}
            UNION
            SELECT id FROM contacts WHERE lower(name) LIKE ${q.lowerPrefix} AND merged_into_id IS NULL
          )
          SELECT c.id, c.name, c.created_at, c.updated_at,
                 coalesce(json_agg(json_build_object('id', ci.id, 'kind', ci.kind, 'value', ci.value, 'verified', ci.verified)
                          ORDER BY ci.created_at) FILTER (WHERE ci.id IS NOT NULL), '[]') AS identities
            FROM contacts c
            JOIN (SELECT DISTINCT contact_id FROM hits) h ON h.contact_id = c.id
            LEFT JOIN contact_identities ci ON ci.contact_id = c.id AND ${visibleIdentities(viewer, 'ci')}
           WHERE c.merged_into_id IS NULL AND ${visibleContacts(viewer, 'c')}
           GROUP BY c.id
           ORDER BY c.updated_at DESC, c.id
           LIMIT ${q.limit}`,
    );
  }

  find(id: string): Promise<ContactRow | undefined> {
    return maybeOne<ContactRow>(
      this.db,
      sql`SELECT id, name, merged_into_id, created_at, updated_at FROM contacts WHERE id = ${id}`,
    );
  }

  /** The contact's identities `viewer` may see, oldest first. */
  visibleIdentitiesOf(viewer: Viewer, contactId: string): Promise<IdentityRow[]> {
    return rows<IdentityRow>(
      this.db,
      sql`SELECT ci.id, ci.kind, ci.value, ci.verified, ci.linked_identity_id, ci.created_at FROM contact_identities ci
           WHERE ci.contact_id = ${contactId} AND ${visibleIdentities(viewer, 'ci')} ORDER BY ci.created_at, ci.id`,
    );
  }

  /** The 200 latest tickets `viewer` may see that the contact requested or takes part in. */
  visibleTicketsOf(viewer: Viewer, contactId: string): Promise<TicketRow[]> {
    return rows<TicketRow>(
      this.db,
      sql`SELECT ${TICKET_COLUMNS} FROM tickets t
           WHERE (t.requester_id = ${contactId}
                  OR EXISTS (SELECT 1 FROM ticket_participants p WHERE p.ticket_id = t.id AND p.contact_id = ${contactId}))
             AND ${visibleTickets(viewer, 't')}
           ORDER BY t.updated_at DESC, t.id DESC LIMIT 200`,
    );
  }

  /** Open suggestions about the contact whose other contact `viewer` may see (unmerged), newest first. */
  openSuggestions(viewer: Viewer, contactId: string): Promise<MergeSuggestionRow[]> {
    return rows<MergeSuggestionRow>(
      this.db,
      sql`SELECT s.id, s.reason, s.created_at, o.id AS other_id, o.name AS other_name,
                 coalesce((SELECT json_agg(json_build_object('kind', ci.kind, 'value', ci.value) ORDER BY ci.created_at)
                             FROM contact_identities ci WHERE ci.contact_id = o.id AND ${visibleIdentities(viewer, 'ci')}), '[]') AS other_identities
            FROM merge_suggestions s
            JOIN contacts o ON o.id = CASE WHEN s.contact_id = ${contactId} THEN s.other_contact_id ELSE s.contact_id END
           WHERE (s.contact_id = ${contactId} OR s.other_contact_id = ${contactId}) AND s.status = 'open'
             AND o.merged_into_id IS NULL AND ${visibleContacts(viewer, 'o')}
           ORDER BY s.created_at DESC`,
    );
  }
}
