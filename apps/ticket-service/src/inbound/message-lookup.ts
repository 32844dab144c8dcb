import { IdentityRef } from '@oq/contracts';
import { escapeLiteral } from 'pg';
import { EntityManager } from 'typeorm';

/** Is this message known, and is its sender (with the identity it is linked to) known? */
export interface Lookup {
  message_id: string | null;
  ticket_id: string | null;
  revision: number | null;
  metadata: Record<string, unknown> | null;
  identity_id: string | null;
  contact_id: string | null;
  unnamed: boolean | null;
  linked_kind: string | null;
  linked_value: string | null;
  linked_contact_id: string | null;
}

const LOOKUP_SQL = `SELECT m.id AS message_id, m.ticket_id, m.revision, m.metadata,
       i.id AS identity_id, i.contact_id, (coalesce(btrim(c.name), '') = '') AS unnamed,
       li.kind AS linked_kind, li.value AS linked_value, li.contact_id AS linked_contact_id
FROM (SELECT 1) AS one
LEFT JOIN messages m ON m.inbox_id = $1 AND m.external_id = $2
LEFT JOIN contact_identities i ON i.kind = $3 AND i.value = $4
LEFT JOIN contacts c ON c.id = i.contact_id
LEFT JOIN contact_identities li ON li.id = i.linked_identity_id`;

/** `sender` must be normalised (normalizeIdentity). */
export async function lookupMessage(
  manager: EntityManager,
  inboxId: string,
  externalId: string,
  sender: IdentityRef,
): Promise<Lookup> {
  const [found]: Lookup[] = await manager.query(LOOKUP_SQL, [inboxId, externalId, sender.kind, sender.value]);
  return found;
}

/**
 * The same lookup as literal SQL, so the ingest batch can send it behind its
 * `SAVEPOINT …; SELECT pg_advisory_xact_lock(…)` in ONE simple-protocol round trip
 * (which takes no bind parameters). Every value goes through pg's escapeLiteral.
 * Each statement of the string gets its own snapshot, so the lookup sees what a
 * transaction that held the sender's lock before us committed.
 */
export function lookupMessageSql(inboxId: string, externalId: string, sender: IdentityRef): string | null {
  const values = [inboxId, externalId, sender.kind, sender.value];
  // A literal cannot carry NUL: the parameterised lookup then reports it as the data error it is.
  if (values.some((v) => v.includes('\u0000'))) return null;
  return LOOKUP_SQL.replace(/\$([1-4])/g, (_, n: string) => escapeLiteral(values[Number(n) - 1]));
}
