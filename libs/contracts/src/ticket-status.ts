import { z } from 'zod';

/**
 * Ticket statuses and their lifecycle, in one place: the statuses, who may move a
 * ticket from which status to which (as data), the sets derived from that, and the
 * SQL fragments hot paths need. Every caller imports from here; ticket-status.spec.ts
 * checks the table pair by pair and the sets against the transitions.
 *
 *   new ──first reply / assignment──▶ open ◀──▶ pending / on_hold ──▶ solved ──▶ closed
 *                                       ▲                               │
 *                                       └────── customer message ───────┘  (closed: follow-up)
 *
 * The database keeps its own copy, as history (migrations are never edited):
 * - 1764000000100-TicketDomain: `tickets.status CHECK (status IN ('new','open','pending',
 *   'on_hold','solved','closed'))`, default `'new'` (= TICKET_STATUSES, INITIAL_TICKET_STATUS);
 *   partial indexes tickets_queue_idx / tickets_queue_team_idx `WHERE status IN ('new','open',
 *   'pending','on_hold')` and tickets_solved_idx `WHERE status = 'solved'`;
 * - 1764000003000-QueueKeysetIndexes: tickets_queue_key_idx / _team_key_idx / _assignee_key_idx
 *   `WHERE status IN ('new','open','pending','on_hold')` (= OPEN_TICKET_STATUSES: the queue's
 *   `statusInSql(OPEN_TICKET_STATUSES)` must keep implying it, or the queue loses its indexes).
 * A new status, or another open set, needs a new migration that replaces the CHECK and rebuilds
 * those indexes; ticket-status.spec.ts fails while the migrations and these sets disagree.
 */
export const TICKET_STATUSES = ['new', 'open', 'pending', 'on_hold', 'solved', 'closed'] as const;
export const TicketStatus = z.enum(TICKET_STATUSES);
export type TicketStatus = z.infer<typeof TicketStatus>;

/** Every ticket starts here (the column default); only the system moves it out, nothing moves it back. */
export const INITIAL_TICKET_STATUS = 'new' satisfies TicketStatus;

/**
 * Who moves a status. Agents choose: `agent` (PATCH /v1/tickets/:id `status`) and `reply`
 * (`status` sent with a reply or note, POST /v1/tickets/:id/messages). The system moves it
 * as a consequence of something else:
 * - `first_reply`: a public agent reply that chose no status takes a new ticket to open;
 * - `assignment`: assigning a new ticket opens it (PATCH assigneeId, POST /v1/queue/next,
 *   an SLA escalation's assign action, a ticket created with an assignee);
 * - `inbound`: a customer message that waits for an answer (not an auto-reply, not a
 *   withheld caller, not an outbound call log) reopens pending, on_hold and solved tickets;
 *   on a closed ticket routing opens a linked follow-up instead (threading/);
 * - `merge`: the merged source closes, whatever its status;
 * - `auto_close`: AUTO_CLOSE_DAYS after solved a ticket closes. Not built: ticket-service
 *   declares AUTO_CLOSE_DAYS and nothing schedules the close yet; this is the edge it will use.
 */
export const STATUS_ACTORS = ['agent', 'reply', 'first_reply', 'assignment', 'inbound', 'merge', 'auto_close'] as const;
export type StatusActor = (typeof STATUS_ACTORS)[number];
export const SYSTEM_STATUS_ACTORS = [
  'first_reply',
  'assignment',
  'inbound',
  'merge',
  'auto_close',
] as const satisfies readonly StatusActor[];

type TransitionTable = { readonly [A in StatusActor]: { readonly [S in TicketStatus]?: readonly TicketStatus[] } };

/**
 * The lifecycle as data: per actor, from each status, the statuses it may move to. A status
 * missing from an actor's map means that actor moves nothing out of it; keeping a status is
 * no transition (callers skip the check when nothing changes). Nothing leaves `closed`.
 */
export const TICKET_TRANSITIONS: TransitionTable = {
  /** Anything but back to new; closed only from solved. */
  agent: {
    new: ['open', 'pending', 'on_hold', 'solved'],
    open: ['pending', 'on_hold', 'solved'],
    pending: ['open', 'on_hold', 'solved'],
    on_hold: ['open', 'pending', 'solved'],
    solved: ['open', 'pending', 'on_hold', 'closed'],
  },
  /** "Reply and set pending", "reply and solve": as an agent, but a reply never closes. */
  reply: {
    new: ['open', 'pending', 'on_hold', 'solved'],
    open: ['pending', 'on_hold', 'solved'],
    pending: ['open', 'on_hold', 'solved'],
    on_hold: ['open', 'pending', 'solved'],
    solved: ['open', 'pending', 'on_hold'],
  },
  first_reply: { new: ['open'] },
  assignment: { new: ['open'] },
  inbound: { pending: ['open'], on_hold: ['open'], solved: ['open'] },
  merge: { new: ['closed'], open: ['closed'], pending: ['closed'], on_hold: ['closed'], solved: ['closed'] },
  auto_close: { solved: ['closed'] },
};

/** Unsolved work: what GET /v1/queue lists and filters by (`?status=`), and what its partial indexes hold. */
export const OPEN_TICKET_STATUSES = ['new', 'open', 'pending', 'on_hold'] as const satisfies readonly TicketStatus[];
/** Solved or closed: resolution is fulfilled, reply clocks are cancelled, nothing is in the queue. */
export const DONE_TICKET_STATUSES = ['solved', 'closed'] as const satisfies readonly TicketStatus[];
/** No actor moves a ticket out of these, and nothing writes them (409 `closed`; inbound opens a follow-up). */
export const IMMUTABLE_TICKET_STATUSES = ['closed'] as const satisfies readonly TicketStatus[];
/**
 * The SLA resolution clock pauses here: the ticket waits on the customer or a third party.
 * Only resolution pauses: first_reply and next_reply keep running (a note that sets pending
 * answers nobody), and all clocks stop in DONE_TICKET_STATUSES.
 */
export const RESOLUTION_PAUSED_STATUSES = ['pending', 'on_hold'] as const satisfies readonly TicketStatus[];
/** What POST /v1/queue/next hands out (unassigned): open work that is not waiting on someone else. */
export const QUEUE_NEXT_STATUSES = ['new', 'open'] as const satisfies readonly TicketStatus[];
/** Statuses a customer message reopens (the `inbound` edges' sources). */
export const INBOUND_REOPEN_STATUSES = ['pending', 'on_hold', 'solved'] as const satisfies readonly TicketStatus[];
/** Statuses a reply or note may set (the `reply` edges' targets): the messages API's `status`. */
export const REPLY_STATUSES = ['open', 'pending', 'on_hold', 'solved'] as const satisfies readonly TicketStatus[];

const has = (set: readonly string[], status: string) => set.includes(status);

export function isTicketStatus(status: string): status is TicketStatus {
  return has(TICKET_STATUSES, status);
}
export function isOpenStatus(status: string): boolean {
  return has(OPEN_TICKET_STATUSES, status);
}
export function isDoneStatus(status: string): boolean {
  return has(DONE_TICKET_STATUSES, status);
}
export function isImmutableStatus(status: string): boolean {
  return has(IMMUTABLE_TICKET_STATUSES, status);
}
export function pausesResolution(status: string): boolean {
  return has(RESOLUTION_PAUSED_STATUSES, status);
}
/** Whether an inbound message may land on a ticket in this status (else routing opens a linked follow-up). */
export function acceptsInbound(status: string): boolean {
  return !isImmutableStatus(status);
}

/** The statuses `actor` may move a ticket in `from` to (none for an unknown status). */
export function allowedTransitions(from: string, actor: StatusActor): readonly TicketStatus[] {
  return isTicketStatus(from) ? (TICKET_TRANSITIONS[actor][from] ?? []) : [];
}

/** Whether `actor` may move a ticket from `from` to `to`. Keeping a status is no transition: false. */
export function canTransition(from: string, to: string, actor: StatusActor): boolean {
  return from !== to && has(allowedTransitions(from, actor), to);
}

/** The one move a system actor makes from `current`, or `current` when it makes none. */
function systemMove(actor: 'first_reply' | 'assignment' | 'inbound' | 'auto_close', current: string): string {
  const [to] = allowedTransitions(current, actor);
  return to ?? current;
}

/**
 * The status after a customer message that waits for an answer: pending, on_hold and solved
 * reopen to open, anything else stays. Never applied to a closed ticket: `acceptsInbound`
 * is false there and routing opens a linked follow-up.
 */
export function statusAfterInbound(current: string): string {
  return systemMove('inbound', current);
}

/** The status after the ticket is assigned: new → open, anything else stays. */
export function statusAfterAssignment(current: string): string {
  return systemMove('assignment', current);
}

/** The status after a public agent reply that chose no status: new → open, anything else stays. */
export function statusAfterFirstReply(current: string): string {
  return systemMove('first_reply', current);
}

// SQL fragments. Values are the enum's own literals (checked here), never input; the column
// is a column reference, `status` or `<alias>.status`.

export type StatusColumn = 'status' | `${string}.status`;
/** A positional parameter carrying the new status, e.g. `$2`. */
export type StatusParam = `$${number}`;

function literal(status: TicketStatus): string {
  if (!isTicketStatus(status)) throw new Error(`not a ticket status: ${String(status)}`);
  return `'${status}'`;
}

/** `t.status IN ('new','open')`: the set as the migrations' index predicates write it (a set is non-empty). */
export function statusInSql(statuses: readonly TicketStatus[], column: StatusColumn = 't.status'): string {
  if (!statuses.length) throw new Error('statusInSql: empty status set');
  return `${column} IN (${statuses.map(literal).join(',')})`;
}

/** `t.status NOT IN ('closed')`. */
export function statusNotInSql(statuses: readonly TicketStatus[], column: StatusColumn = 't.status'): string {
  if (!statuses.length) throw new Error('statusNotInSql: empty status set');
  return `${column} NOT IN (${statuses.map(literal).join(',')})`;
}

/** `CASE WHEN status = 'new' THEN 'open' ELSE status END`: statusAfterAssignment inside an UPDATE. */
export function statusAfterAssignmentSql(column: StatusColumn = 'status'): string {
  const moves = TICKET_STATUSES.flatMap((from) =>
    (TICKET_TRANSITIONS.assignment[from] ?? []).map((to) => `WHEN ${column} = ${literal(from)} THEN ${literal(to)}`),
  );
  return `CASE ${moves.join(' ')} ELSE ${column} END`;
}

/**
 * The timestamps a status change writes, for `UPDATE tickets SET status = $n, …` (the row's
 * own columns are the old values): solving stamps solved_at (re-solving keeps it), closing
 * keeps solved_at and stamps closed_at, any other status clears solved_at; closed_at is never
 * cleared (nothing leaves closed). Ingest's reopen clears solved_at with its own flag.
 */
export function statusTimestampsSql(to: StatusParam): string {
  return `solved_at = CASE WHEN ${to} = 'solved' THEN coalesce(CASE WHEN status = 'solved' THEN solved_at END, now())
                           WHEN ${to} = 'closed' THEN solved_at ELSE NULL END,
          closed_at = CASE WHEN ${to} = 'closed' THEN now() ELSE closed_at END`;
}
