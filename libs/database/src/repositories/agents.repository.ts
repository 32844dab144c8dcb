import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db, execute, maybeOne, one, rows } from '../sql/db';
import { sql } from '../sql/sql';

export type AgentRole = 'admin' | 'agent';
export type AgentPresence = 'online' | 'away' | 'offline';

/** What a login checks: the stored hash, whether the agent may log in, and the token version read with it. */
export interface AgentCredentialsRow {
  id: string;
  password_hash: string;
  active: boolean;
  token_version: number;
}

/** An active agent as a request is authenticated against: role, teams and current token version. */
export interface AgentAuthRow {
  id: string;
  role: AgentRole;
  token_version: number;
  team_ids: string[];
}

/** An agent's profile with its teams by name. */
export interface AgentProfileRow {
  id: string;
  email: string;
  name: string;
  role: AgentRole;
  presence: AgentPresence;
  presence_at: Date | null;
  teams: { id: string; name: string }[];
}

export interface AgentActiveRow {
  id: string;
  active: boolean;
}

export interface NewAgent {
  email: string;
  name: string;
  passwordHash: string;
  role: AgentRole;
}

/** Fields an admin changes; null/undefined keeps the stored value. */
export interface AgentChangesInput {
  email?: string | null;
  name?: string | null;
  /** A new password's hash: bumps the token version. */
  passwordHash?: string | null;
  role?: AgentRole | null;
  active?: boolean | null;
}

/**
 * Agents, their credentials and token version, presence and team membership.
 * Tables: agents, agent_teams.
 */
@Injectable()
export class AgentRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): AgentRepository {
    return new AgentRepository(db);
  }

  /** Every agent's id and whether it is active: active first, then by name. */
  listActiveFlags(): Promise<AgentActiveRow[]> {
    return rows<AgentActiveRow>(this.db, sql`SELECT id, active FROM agents ORDER BY active DESC, name, id`);
  }

  /** Whether the agent is active; undefined when there is no such agent. */
  async isActive(id: string): Promise<boolean | undefined> {
    const row = await maybeOne<{ active: boolean }>(this.db, sql`SELECT active FROM agents WHERE id = ${id}`);
    return row?.active;
  }

  /** Inserts an agent and returns its id (a unique violation 23505 when the email is taken). */
  async insert(agent: NewAgent): Promise<string> {
    const row = await one<{ id: string }>(
      this.db,
      sql`INSERT INTO agents (email, name, password_hash, role)
          VALUES (${agent.email}, ${agent.name}, ${agent.passwordHash}, ${agent.role}) RETURNING id`,
    );
    return row.id;
  }

  async update(id: string, changes: AgentChangesInput): Promise<void> {
    const hash = changes.passwordHash ?? null;
    await execute(
      this.db,
      // A new password bumps the token version: every token issued before is refused from now on.
      sql`UPDATE agents SET email = coalesce(${changes.email ?? null}, email), name = coalesce(${changes.name ?? null}, name),
                password_hash = coalesce(${hash}, password_hash),
                token_version = token_version + CASE WHEN ${hash}::text IS NULL THEN 0 ELSE 1 END,
                role = coalesce(${changes.role ?? null}, role), active = coalesce(${changes.active ?? null}, active),
                updated_at = now()
          WHERE id = ${id}`,
    );
  }

  /** The agent's teams become exactly `teamIds` (a foreign key violation 23503 for an unknown team). */
  async replaceTeams(agentId: string, teamIds: string[]): Promise<void> {
    await execute(this.db, sql`DELETE FROM agent_teams WHERE agent_id = ${agentId}`);
    await this.addTeams(agentId, teamIds);
  }

  /** Adds the agent to `teamIds` (memberships it has stay). */
  async addTeams(agentId: string, teamIds: string[]): Promise<void> {
    if (!teamIds.length) return;
    await execute(
      this.db,
      sql`INSERT INTO agent_teams (agent_id, team_id) SELECT ${agentId}, unnest(${teamIds}::uuid[]) ON CONFLICT DO NOTHING`,
    );
  }

  /**
   * The login lookup (emails compare case-insensitively, agents_email_key). The token version
   * is read with the hash it belongs to: a password change racing this login bumps the
   * version, so a token for the old password is born revoked.
   */
  credentialsByEmail(email: string): Promise<AgentCredentialsRow | undefined> {
    return maybeOne<AgentCredentialsRow>(
      this.db,
      sql`SELECT id, password_hash, active, token_version FROM agents WHERE lower(email) = lower(${email})`,
    );
  }

  /**
   * Stores a re-hash of the same password, only if the row still holds `oldHash` (a password
   * change meanwhile wins). Not a password change: the token version stays.
   */
  async upgradePasswordHash(agentId: string, oldHash: string, newHash: string): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE agents SET password_hash = ${newHash} WHERE id = ${agentId} AND password_hash = ${oldHash}`,
    );
  }

  /** The active agent with its current teams and token version: every authenticated request, so prepared (named). */
  findActiveForAuth(agentId: string): Promise<AgentAuthRow | undefined> {
    return maybeOne<AgentAuthRow>(
      this.db,
      sql`SELECT a.id, a.role, a.token_version,
                 coalesce(array_agg(at.team_id) FILTER (WHERE at.team_id IS NOT NULL), '{}') AS team_ids
            FROM agents a LEFT JOIN agent_teams at ON at.agent_id = a.id
           WHERE a.id = ${agentId} AND a.active
           GROUP BY a.id`.named('oq_agent_auth'),
    );
  }

  profile(agentId: string): Promise<AgentProfileRow | undefined> {
    return maybeOne<AgentProfileRow>(
      this.db,
      sql`SELECT a.id, a.email, a.name, a.role, a.presence, a.presence_at,
                 coalesce(json_agg(json_build_object('id', t.id, 'name', t.name) ORDER BY t.name)
                          FILTER (WHERE t.id IS NOT NULL), '[]') AS teams
            FROM agents a
            LEFT JOIN agent_teams at ON at.agent_id = a.id
            LEFT JOIN teams t ON t.id = at.team_id
           WHERE a.id = ${agentId}
           GROUP BY a.id`,
    );
  }

  async setPresence(agentId: string, presence: AgentPresence): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE agents SET presence = ${presence}, presence_at = now(), updated_at = now() WHERE id = ${agentId}`,
    );
  }

  /** Whether an active agent of the team is online (chat-service tells customers on connect). */
  async anyOnlineInTeam(teamId: string): Promise<boolean> {
    const row = await maybeOne<{ online: boolean }>(
      this.db,
      sql`SELECT EXISTS (
            SELECT 1 FROM agents a JOIN agent_teams at ON at.agent_id = a.id
            WHERE at.team_id = ${teamId} AND a.active AND a.presence = 'online') AS online`,
    );
    return row?.online === true;
  }

  /**
   * Serialises first-start work (the seed) across replicas booting together: a
   * transaction-scoped advisory lock, so call it inside the seed's transaction.
   */
  async lockFirstStart(lockKey: number): Promise<void> {
    await execute(this.db, sql`SELECT pg_advisory_xact_lock(${lockKey})`);
  }

  async adminExists(): Promise<boolean> {
    const row = await maybeOne<{ one: number }>(this.db, sql`SELECT 1 AS one FROM agents WHERE role = 'admin' LIMIT 1`);
    return row !== undefined;
  }

  /**
   * The bootstrap admin, unless an agent already has the email (then undefined: an existing
   * agent is never promoted by configuration).
   */
  async insertBootstrapAdmin(email: string, passwordHash: string): Promise<string | undefined> {
    const row = await maybeOne<{ id: string }>(
      this.db,
      sql`INSERT INTO agents (email, name, password_hash, role) VALUES (${email}, 'Administrator', ${passwordHash}, 'admin')
          ON CONFLICT ((lower(email))) DO NOTHING RETURNING id`,
    );
    return row?.id;
  }

  /** Every admin joins the team (the demo team). */
  async addAdminsToTeam(teamId: string): Promise<void> {
    await execute(
      this.db,
      sql`INSERT INTO agent_teams (agent_id, team_id) SELECT id, ${teamId} FROM agents WHERE role = 'admin' ON CONFLICT DO NOTHING`,
    );
  }
}
