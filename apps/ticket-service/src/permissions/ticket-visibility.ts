import { NotFoundException } from '@nestjs/common';
import { Db, VisibilityRepository, visibleTickets } from '@oq/database';
import { AuthenticatedAgent } from '../auth/authenticated-agent';

/**
 * THE visibility rule of OneQueue lives in libs/database (repositories/visibility.ts: the
 * `visibleTickets` / `visibleContacts` / `visibleIdentities` Sql fragments, `canSeeTicket`, and
 * VisibilityRepository); read the rule there. This file turns its answers into the app's 404s:
 * what an agent may not see is answered 404, never 403, so ticket ids and numbers cannot be
 * probed. (An admin-only action on a ticket the caller CAN see is a 403.)
 */

/** The calling agent, as the auth guard loaded it (structurally libs/database's visibility Viewer). */
export type Viewer = AuthenticatedAgent;

export interface SqlFragment {
  sql: string;
  params: unknown[];
}

/**
 * libs/database's `visibleTickets` as text with placeholders numbered from `paramOffset + 1`,
 * for a statement that counts its own `$n`. Prefer the Sql fragment; this stays for callers
 * that still build statements as strings.
 */
export function visibleTicketsSql(agent: AuthenticatedAgent, alias = 't', paramOffset = 0): SqlFragment {
  const f = visibleTickets(agent, alias);
  return { sql: f.text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + paramOffset}`), params: f.params };
}

/** The same rule for an in-memory ticket (socket fan-out, event filtering). */
export { canSeeTicket } from '@oq/database';

/** Throws 404 unless the ticket exists and `agent` may see it. Pass the transaction's manager when inside one. */
export async function assertTicketVisible(db: Db, agent: AuthenticatedAgent, ticketId: string): Promise<void> {
  // A malformed id is simply "not found", not a Postgres cast error.
  if (!(await new VisibilityRepository(db).ticketVisible(agent, ticketId)))
    throw new NotFoundException('ticket not found');
}

/** Throws 404 unless the contact exists and `agent` may see it. */
export async function assertContactVisible(db: Db, agent: AuthenticatedAgent, contactId: string): Promise<void> {
  if (!(await new VisibilityRepository(db).contactVisible(agent, contactId)))
    throw new NotFoundException('contact not found');
}
