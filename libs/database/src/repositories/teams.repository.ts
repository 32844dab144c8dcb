import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db, execute, maybeOne, one, rows } from '../sql/db';
import { sql } from '../sql/sql';

/** A team with how many agents belong to it. */
export interface TeamRow {
  id: string;
  name: string;
  created_at: Date;
  members: number;
}

export interface CategoryRow {
  id: string;
  name: string;
  active: boolean;
}

const SELECT_TEAM = sql`SELECT t.id, t.name, t.created_at, (SELECT count(*)::int FROM agent_teams at WHERE at.team_id = t.id) AS members
                          FROM teams t`;

/**
 * Teams and ticket categories.
 * Tables: teams, categories.
 */
@Injectable()
export class TeamRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): TeamRepository {
    return new TeamRepository(db);
  }

  /** Every team, by name. */
  list(): Promise<TeamRow[]> {
    return rows<TeamRow>(this.db, sql`${SELECT_TEAM} ORDER BY t.name`);
  }

  find(id: string): Promise<TeamRow | undefined> {
    return maybeOne<TeamRow>(this.db, sql`${SELECT_TEAM} WHERE t.id = ${id}`);
  }

  /** Inserts a team and returns its id (23505 when the name is taken). */
  async insert(name: string): Promise<string> {
    return (await one<{ id: string }>(this.db, sql`INSERT INTO teams (name) VALUES (${name}) RETURNING id`)).id;
  }

  /** 23505 when another team has the name. */
  async rename(id: string, name: string): Promise<void> {
    await execute(this.db, sql`UPDATE teams SET name = ${name} WHERE id = ${id}`);
  }

  /** 23503 while tickets or inboxes still belong to the team; memberships go with it (cascade). */
  async delete(id: string): Promise<void> {
    await execute(this.db, sql`DELETE FROM teams WHERE id = ${id}`);
  }

  /** The team named `name`, created when missing (the seed's demo team); its id. */
  async ensure(name: string): Promise<string> {
    await execute(this.db, sql`INSERT INTO teams (name) VALUES (${name}) ON CONFLICT (name) DO NOTHING`);
    return (await one<{ id: string }>(this.db, sql`SELECT id FROM teams WHERE name = ${name}`)).id;
  }

  /** Every ticket category, by name. */
  listCategories(): Promise<CategoryRow[]> {
    return rows<CategoryRow>(this.db, sql`SELECT id, name, active FROM categories ORDER BY name`);
  }

  /** 23505 when a category has the name. */
  insertCategory(name: string): Promise<CategoryRow> {
    return one<CategoryRow>(this.db, sql`INSERT INTO categories (name) VALUES (${name}) RETURNING id, name, active`);
  }

  /*
   * The demo team's SLA, as the seed finds it by name. sla_schedules and sla_policies are
   * SlaRepository's tables; these two reads live here because seeding a team's demo setup is
   * their only use (the writes go through sla-admin's insertSchedule/insertPolicy).
   */

  /** The id of the SLA schedule named `name`, if any. */
  async slaScheduleIdByName(name: string): Promise<string | undefined> {
    return (await maybeOne<{ id: string }>(this.db, sql`SELECT id FROM sla_schedules WHERE name = ${name}`))?.id;
  }

  /** Whether an SLA policy named `name` exists. */
  async slaPolicyExists(name: string): Promise<boolean> {
    const row = await maybeOne<{ one: number }>(this.db, sql`SELECT 1 AS one FROM sla_policies WHERE name = ${name}`);
    return row !== undefined;
  }
}
