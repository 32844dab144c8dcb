import { AuthenticatedAgent } from '../auth/authenticated-agent';
import { visibleContactsSql, visibleIdentitiesSql, visibleTicketsSql } from '../permissions/ticket-visibility';

/** The calling agent, as the auth guard loaded it. */
export type Viewer = AuthenticatedAgent;

/*
 * The queries here build their parameter arrays incrementally; these adapters
 * append the shared visibility predicate's parameters at the right position.
 */
export function visibleTicketSql(alias: string, viewer: Viewer, params: unknown[]): string {
  const f = visibleTicketsSql(viewer, alias, params.length);
  params.push(...f.params);
  return f.sql;
}

export function visibleContactSql(alias: string, viewer: Viewer, params: unknown[]): string {
  const f = visibleContactsSql(viewer, alias, params.length);
  params.push(...f.params);
  return f.sql;
}

export function visibleIdentitySql(alias: string, viewer: Viewer, params: unknown[]): string {
  const f = visibleIdentitiesSql(viewer, alias, params.length);
  params.push(...f.params);
  return f.sql;
}
