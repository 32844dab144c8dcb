import { DataSource } from 'typeorm';
import { createDataSource } from '../data-source';
import { execute, maybeOne, one, rows } from '../sql/db';
import { sql } from '../sql/sql';
import { createTestDatabase, TestDatabase } from '../testing/test-env';
import { TicketRepository } from './tickets.repository';
import { Viewer } from './visibility';

/**
 * The statements the API specs reach only partly: status timestamps (bound where contracts'
 * rule reads the new status), escalation's command ledger and assignment, and the queue's
 * per-team pieces for an agent of several teams.
 */
describe('TicketRepository', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let repo: TicketRepository;
  const ids: Record<string, string> = {};

  const ticket = (id: string) =>
    one<{ status: string; solved_at: Date | null; closed_at: Date | null; version: number; priority: string }>(
      ds,
      sql`SELECT status, solved_at, closed_at, version, priority FROM tickets WHERE id = ${id}`,
    );
  const newTicket = async (teamId: string, assigneeId: string | null = null, subject = 's') =>
    (
      await repo.insert({
        subject,
        status: 'new',
        priority: 'normal',
        type: 'question',
        categoryId: null,
        tags: [],
        teamId,
        assigneeId,
        requesterId: ids.contact,
        channel: 'email',
        inboxId: null,
        lastCustomerMessageAt: new Date(),
      })
    ).id;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 3 });
    await ds.initialize();
    repo = new TicketRepository(ds);
    const teams = await rows<{ id: string }>(ds, sql`INSERT INTO teams (name) VALUES ('A'), ('B'), ('C') RETURNING id`);
    [ids.teamA, ids.teamB, ids.teamC] = teams.map((t) => t.id);
    const agents = await rows<{ id: string }>(
      ds,
      sql`INSERT INTO agents (email, name, password_hash, role, active) VALUES
            ('a@x.example', 'A', 'x', 'agent', true), ('gone@x.example', 'Gone', 'x', 'agent', false) RETURNING id`,
    );
    [ids.agent, ids.gone] = agents.map((a) => a.id);
    ids.contact = (await one<{ id: string }>(ds, sql`INSERT INTO contacts (name) VALUES ('c') RETURNING id`)).id;
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('stamps status times as the lifecycle says: solved sets solved_at once, closed keeps it, reopening clears it', async () => {
    const id = await newTicket(ids.teamA);
    await repo.changeStatus(id, 'solved');
    const solved = await ticket(id);
    expect(solved).toMatchObject({ status: 'solved', closed_at: null, version: 2 });
    expect(solved.solved_at).toBeInstanceOf(Date);

    await repo.changeStatus(id, 'solved');
    expect((await ticket(id)).solved_at).toEqual(solved.solved_at);

    await repo.applyAgentChanges(id, {
      status: 'open',
      priority: 'high',
      type: 'question',
      category_id: null,
      tags: ['x'],
      team_id: ids.teamA,
      assignee_id: null,
    });
    expect(await ticket(id)).toMatchObject({ status: 'open', solved_at: null, priority: 'high', version: 4 });

    await repo.changeStatus(id, 'solved');
    const resolved = (await ticket(id)).solved_at;
    await repo.changeStatus(id, 'closed');
    const closed = await ticket(id);
    expect(closed.status).toBe('closed');
    expect(closed.solved_at).toEqual(resolved);
    expect(closed.closed_at).toBeInstanceOf(Date);
  });

  it('applies an escalation command once, and its assignment opens the ticket without a timestamp', async () => {
    const id = await newTicket(ids.teamA);
    expect(await repo.lockForCommand('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    await ds.transaction(async (m) => {
      const tx = repo.with(m);
      const t = await tx.lockForCommand(id);
      expect(t).toMatchObject({ id, status: 'new', team_id: ids.teamA, assignee_id: null, inbox_id: null });
      expect(await tx.recordCommand('cmd-1', id)).toBe(true);
      expect(await tx.recordCommand('cmd-1', id)).toBe(false);
      expect(await tx.teamExists(ids.teamB)).toBe(true);
      expect(await tx.teamExists('00000000-0000-4000-8000-000000000000')).toBe(false);
      expect(await tx.activeAgentExists(ids.agent)).toBe(true);
      expect(await tx.activeAgentExists(ids.gone)).toBe(false);
      await tx.applyEscalation(id, { priority: 'urgent', team_id: ids.teamB, assignee_id: ids.agent });
      await tx.setEscalatedStatus(id, 'open');
      await tx.recordCommandResult('cmd-1', [{ kind: 'assign', agentId: ids.agent }]);
      await tx.writeAudit(id, null, 'sla_escalation', { commandId: 'cmd-1' });
    });
    expect(await ticket(id)).toMatchObject({ status: 'open', priority: 'urgent', version: 2, solved_at: null });
    const ledger = await maybeOne<{ result: unknown }>(
      ds,
      sql`SELECT result FROM applied_ticket_commands WHERE command_id = 'cmd-1'`,
    );
    expect(ledger?.result).toEqual([{ kind: 'assign', agentId: ids.agent }]);
    const [audit] = await repo.auditTrail(id);
    expect(audit).toMatchObject({ actor_type: 'system', actor_agent_id: null, action: 'sla_escalation' });
  });

  it("merges an agent's team pieces and tickets assigned to them elsewhere into one queue order", async () => {
    await execute(ds, sql`DELETE FROM ticket_audit`);
    await execute(ds, sql`DELETE FROM applied_ticket_commands`);
    await execute(ds, sql`DELETE FROM tickets`);
    const a = await newTicket(ids.teamA, null, 'a');
    const b = await newTicket(ids.teamB, null, 'b');
    const mine = await newTicket(ids.teamC, ids.agent, 'mine');
    await newTicket(ids.teamC, null, 'not mine');
    await execute(ds, sql`UPDATE tickets SET priority = 'urgent' WHERE id = ${b}`);
    const viewer: Viewer = { id: ids.agent, role: 'agent', teamIds: [ids.teamA, ids.teamB] };

    const all = await repo.queue(viewer, { limit: 10 });
    expect(all.map((r) => r.id)).toEqual([b, a, mine]);

    const first = await repo.queue(viewer, { limit: 1 });
    const last = first[0];
    const rest = await repo.queue(viewer, { limit: 10, after: [last.k_due, last.k_rank, last.k_created, last.id] });
    expect(rest.map((r) => r.id)).toEqual([a, mine]);

    expect((await repo.queue(viewer, { limit: 10, teamId: ids.teamC })).map((r) => r.id)).toEqual([mine]);
    expect((await repo.queue(viewer, { limit: 10, assigneeId: null })).map((r) => r.id)).toEqual([b, a]);
    const admin: Viewer = { id: ids.agent, role: 'admin', teamIds: [] };
    expect(await repo.queue(admin, { limit: 10 })).toHaveLength(4);
  });
});
