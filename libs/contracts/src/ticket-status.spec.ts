import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DONE_TICKET_STATUSES,
  IMMUTABLE_TICKET_STATUSES,
  INBOUND_REOPEN_STATUSES,
  INITIAL_TICKET_STATUS,
  OPEN_TICKET_STATUSES,
  QUEUE_NEXT_STATUSES,
  REPLY_STATUSES,
  RESOLUTION_PAUSED_STATUSES,
  STATUS_ACTORS,
  StatusActor,
  SYSTEM_STATUS_ACTORS,
  TICKET_STATUSES,
  TICKET_TRANSITIONS,
  TicketStatus,
  acceptsInbound,
  allowedTransitions,
  canTransition,
  isDoneStatus,
  isImmutableStatus,
  isOpenStatus,
  isTicketStatus,
  pausesResolution,
  statusAfterAssignment,
  statusAfterFirstReply,
  statusAfterInbound,
  statusAfterAssignmentSql,
  statusInSql,
  statusNotInSql,
  statusTimestampsSql,
} from './index';

/**
 * The lifecycle written out independently of ticket-status.ts: rows are `from`, columns are
 * `to` in TICKET_STATUSES order (new open pending on_hold solved closed); `x` = allowed.
 */
const EXPECTED: Record<StatusActor, string> = {
  agent: `
    new      . x x x x .
    open     . . x x x .
    pending  . x . x x .
    on_hold  . x x . x .
    solved   . x x x . x
    closed   . . . . . .`,
  reply: `
    new      . x x x x .
    open     . . x x x .
    pending  . x . x x .
    on_hold  . x x . x .
    solved   . x x x . .
    closed   . . . . . .`,
  first_reply: `
    new      . x . . . .
    open     . . . . . .
    pending  . . . . . .
    on_hold  . . . . . .
    solved   . . . . . .
    closed   . . . . . .`,
  assignment: `
    new      . x . . . .
    open     . . . . . .
    pending  . . . . . .
    on_hold  . . . . . .
    solved   . . . . . .
    closed   . . . . . .`,
  inbound: `
    new      . . . . . .
    open     . . . . . .
    pending  . x . . . .
    on_hold  . x . . . .
    solved   . x . . . .
    closed   . . . . . .`,
  merge: `
    new      . . . . . x
    open     . . . . . x
    pending  . . . . . x
    on_hold  . . . . . x
    solved   . . . . . x
    closed   . . . . . .`,
  auto_close: `
    new      . . . . . .
    open     . . . . . .
    pending  . . . . . .
    on_hold  . . . . . .
    solved   . . . . . x
    closed   . . . . . .`,
};

function expectedAllowed(actor: StatusActor, from: TicketStatus, to: TicketStatus): boolean {
  const row = EXPECTED[actor]
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find(([name]) => name === from);
  if (!row || row.length !== TICKET_STATUSES.length + 1) throw new Error(`bad EXPECTED row ${actor}/${from}`);
  return row[1 + TICKET_STATUSES.indexOf(to)] === 'x';
}

const PAIRS = STATUS_ACTORS.flatMap((actor) =>
  TICKET_STATUSES.flatMap((from) => TICKET_STATUSES.map((to) => ({ actor, from, to }))),
);
const edges = (actor: StatusActor) =>
  TICKET_STATUSES.flatMap((from) => allowedTransitions(from, actor).map((to) => ({ from, to })));
const sorted = (xs: readonly string[]) => [...xs].sort();

describe('ticket lifecycle: every (from, to, actor)', () => {
  it('covers 7 actors × 6 × 6 statuses', () => expect(PAIRS).toHaveLength(252));

  it.each(PAIRS)('$actor: $from → $to', ({ actor, from, to }) => {
    expect(canTransition(from, to, actor)).toBe(expectedAllowed(actor, from, to));
  });

  it('the data holds no self-loops, duplicates or unknown statuses', () => {
    for (const actor of STATUS_ACTORS)
      for (const [from, tos] of Object.entries(TICKET_TRANSITIONS[actor])) {
        expect(isTicketStatus(from)).toBe(true);
        expect(tos).not.toContain(from);
        expect(new Set(tos).size).toBe(tos.length);
        for (const to of tos) expect(isTicketStatus(to)).toBe(true);
      }
  });

  it('refuses unknown statuses and keeping a status', () => {
    for (const actor of STATUS_ACTORS) {
      expect(canTransition('reopened', 'open', actor)).toBe(false);
      expect(canTransition('open', 'archived', actor)).toBe(false);
      for (const s of TICKET_STATUSES) expect(canTransition(s, s, actor)).toBe(false);
    }
    expect(allowedTransitions('archived', 'agent')).toEqual([]);
  });
});

describe('ticket lifecycle: properties', () => {
  it('nothing leaves closed, for any actor', () => {
    for (const actor of STATUS_ACTORS) {
      expect(allowedTransitions('closed', actor)).toEqual([]);
      for (const to of TICKET_STATUSES) expect(canTransition('closed', to, actor)).toBe(false);
    }
  });

  it('random walks over every actor never leave closed once they reach it', () => {
    let seed = 17;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    let closedReached = 0;
    for (let walk = 0; walk < 2000; walk++) {
      let s: TicketStatus = INITIAL_TICKET_STATUS;
      let closed = false;
      for (let step = 0; step < 25; step++) {
        const actor = STATUS_ACTORS[rand(STATUS_ACTORS.length)];
        const to = TICKET_STATUSES[rand(TICKET_STATUSES.length)];
        if (!canTransition(s, to, actor)) continue;
        expect(closed).toBe(false);
        s = to;
        closed ||= s === 'closed';
      }
      if (closed) closedReached++;
    }
    expect(closedReached).toBeGreaterThan(0);
  });

  it('nothing moves a ticket (back) to new: it is only the initial status', () => {
    expect(INITIAL_TICKET_STATUS).toBe('new');
    for (const actor of STATUS_ACTORS) expect(edges(actor).filter((e) => e.to === 'new')).toEqual([]);
  });

  it('first reply and assignment make one move only: new → open', () => {
    for (const actor of ['first_reply', 'assignment'] as const)
      expect(edges(actor)).toEqual([{ from: INITIAL_TICKET_STATUS, to: 'open' }]);
  });

  it('closed is reached only from solved, except by merge', () => {
    for (const actor of STATUS_ACTORS.filter((a) => a !== 'merge'))
      for (const e of edges(actor).filter((x) => x.to === 'closed')) expect(e.from).toBe('solved');
    expect(sorted(edges('merge').map((e) => e.from))).toEqual(
      sorted(TICKET_STATUSES.filter((s) => !isImmutableStatus(s))),
    );
  });

  it('a reply can do no more than an agent, and never closes', () => {
    for (const { from, to } of edges('reply')) expect(canTransition(from, to, 'agent')).toBe(true);
    expect(edges('reply').filter((e) => e.to === 'closed')).toEqual([]);
    // The first-reply move is a reply edge too (replies check their status against `reply`).
    for (const { from, to } of edges('first_reply')) expect(canTransition(from, to, 'reply')).toBe(true);
  });

  it('every open status can be solved by an agent, and solved can be closed', () => {
    for (const s of OPEN_TICKET_STATUSES) expect(canTransition(s, 'solved', 'agent')).toBe(true);
    expect(canTransition('solved', 'closed', 'agent')).toBe(true);
    expect(canTransition('solved', 'closed', 'auto_close')).toBe(true);
  });

  it('system actors make at most one move from each status (statusAfter* picks it)', () => {
    for (const actor of SYSTEM_STATUS_ACTORS)
      for (const s of TICKET_STATUSES) expect(allowedTransitions(s, actor).length).toBeLessThanOrEqual(1);
  });
});

describe('ticket lifecycle: derived sets agree with the transitions', () => {
  it('open and done partition the statuses', () => {
    expect(sorted([...OPEN_TICKET_STATUSES, ...DONE_TICKET_STATUSES])).toEqual(sorted(TICKET_STATUSES));
    for (const s of TICKET_STATUSES) expect(isOpenStatus(s)).toBe(!isDoneStatus(s));
    expect(DONE_TICKET_STATUSES).toEqual(['solved', 'closed']);
  });

  it('immutable = the statuses no actor moves out of, and they are done', () => {
    const stuck = TICKET_STATUSES.filter((s) => STATUS_ACTORS.every((a) => allowedTransitions(s, a).length === 0));
    expect(sorted(IMMUTABLE_TICKET_STATUSES)).toEqual(sorted(stuck));
    expect(IMMUTABLE_TICKET_STATUSES).toEqual(['closed']);
    for (const s of IMMUTABLE_TICKET_STATUSES) expect(isDoneStatus(s)).toBe(true);
  });

  it('inbound reopens exactly INBOUND_REOPEN_STATUSES, to an open status; closed takes no inbound at all', () => {
    expect(sorted(INBOUND_REOPEN_STATUSES)).toEqual(sorted(edges('inbound').map((e) => e.from)));
    for (const { to } of edges('inbound')) expect(isOpenStatus(to)).toBe(true);
    for (const s of TICKET_STATUSES) expect(acceptsInbound(s)).toBe(!isImmutableStatus(s));
  });

  it('reply statuses = the targets of the reply edges, in status order', () => {
    const targets = new Set(edges('reply').map((e) => e.to));
    expect(REPLY_STATUSES).toEqual(TICKET_STATUSES.filter((s) => targets.has(s)));
  });

  it('resolution pauses only in open statuses; queue/next hands out open work that is not paused', () => {
    for (const s of RESOLUTION_PAUSED_STATUSES) expect(isOpenStatus(s)).toBe(true);
    expect(RESOLUTION_PAUSED_STATUSES).toEqual(['pending', 'on_hold']);
    expect(QUEUE_NEXT_STATUSES).toEqual(OPEN_TICKET_STATUSES.filter((s) => !pausesResolution(s)));
    // Assignment (what queue/next does) keeps a handed-out ticket in the handed-out set.
    for (const s of QUEUE_NEXT_STATUSES) expect(QUEUE_NEXT_STATUSES).toContain(statusAfterAssignment(s));
  });

  it('statusAfter* apply the system edges and leave every other status as it is', () => {
    expect(TICKET_STATUSES.map(statusAfterInbound)).toEqual(['new', 'open', 'open', 'open', 'open', 'closed']);
    expect(TICKET_STATUSES.map(statusAfterAssignment)).toEqual([
      'open',
      'open',
      'pending',
      'on_hold',
      'solved',
      'closed',
    ]);
    expect(TICKET_STATUSES.map(statusAfterFirstReply)).toEqual(TICKET_STATUSES.map(statusAfterAssignment));
  });
});

describe('ticket status SQL', () => {
  it('renders the sets as the migrations write them', () => {
    expect(statusInSql(OPEN_TICKET_STATUSES)).toBe(`t.status IN ('new','open','pending','on_hold')`);
    expect(statusInSql(QUEUE_NEXT_STATUSES, 't.status')).toBe(`t.status IN ('new','open')`);
    expect(statusInSql(DONE_TICKET_STATUSES, 'status')).toBe(`status IN ('solved','closed')`);
    expect(statusNotInSql(IMMUTABLE_TICKET_STATUSES)).toBe(`t.status NOT IN ('closed')`);
  });

  it('renders the assignment move as a CASE over the assignment edges', () => {
    expect(statusAfterAssignmentSql()).toBe(`CASE WHEN status = 'new' THEN 'open' ELSE status END`);
    expect(statusAfterAssignmentSql('t.status')).toBe(`CASE WHEN t.status = 'new' THEN 'open' ELSE t.status END`);
  });

  it('refuses an empty set and anything that is not a status', () => {
    expect(() => statusInSql([])).toThrow(/empty/);
    expect(() => statusNotInSql([])).toThrow(/empty/);
    expect(() => statusInSql(["open') OR ('1'='1" as TicketStatus])).toThrow(/not a ticket status/);
  });

  it('writes the status timestamps against the given parameter only', () => {
    const sql = statusTimestampsSql('$7');
    expect(sql).toMatch(/^solved_at = CASE WHEN \$7 = 'solved'/);
    expect(sql).toContain(`closed_at = CASE WHEN $7 = 'closed' THEN now() ELSE closed_at END`);
    expect(sql.match(/\$\d+/g)).toEqual(['$7', '$7', '$7']);
  });

  it('the migrations (history, not edited) still match: CHECK = every status, queue indexes = open set', () => {
    const dir = join(__dirname, '../../database/src/migrations');
    const domain = readFileSync(join(dir, '1764000000100-TicketDomain.ts'), 'utf8');
    const keyset = readFileSync(join(dir, '1764000003000-QueueKeysetIndexes.ts'), 'utf8');
    const list = (s: string) => s.split(',').map((x) => x.trim().replace(/^'|'$/g, ''));
    const check = /status\s+text NOT NULL DEFAULT '(\w+)' CHECK \(status IN \(([^)]*)\)\),/.exec(
      domain.slice(domain.indexOf('CREATE TABLE tickets')),
    );
    expect(check?.[1]).toBe(INITIAL_TICKET_STATUS);
    expect(list(check![2])).toEqual([...TICKET_STATUSES]);
    const predicates = [...`${domain}\n${keyset}`.matchAll(/CREATE INDEX tickets_queue\w*[\s\S]*?WHERE ([^;]*);/g)];
    expect(predicates.map((m) => m[1].replace(/ AND assignee_id IS NOT NULL$/, ''))).toEqual(
      Array(5).fill(statusInSql(OPEN_TICKET_STATUSES, 'status')),
    );
  });
});
