import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { TeamView } from './teams.dto';

export type TeamView = z.infer<typeof TeamView>;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SELECT = `SELECT t.id, t.name, t.created_at, (SELECT count(*)::int FROM agent_teams at WHERE at.team_id = t.id) AS members
                  FROM teams t`;

@Injectable()
export class TeamsService {
  constructor(
    private readonly ds: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async list(): Promise<TeamView[]> {
    return (await this.ds.query(`${SELECT} ORDER BY t.name`)).map(view);
  }

  async get(id: string): Promise<TeamView> {
    if (!UUID_RE.test(id)) throw new NotFoundException('team not found');
    const rows = await this.ds.query(`${SELECT} WHERE t.id = $1`, [id]);
    if (!rows[0]) throw new NotFoundException('team not found');
    return view(rows[0]);
  }

  async create(name: string): Promise<TeamView> {
    const rows = await this.ds
      .query('INSERT INTO teams (name) VALUES ($1) RETURNING id', [name])
      .catch((err) => this.conflict(err));
    this.logger.info({ teamId: rows[0].id }, 'team created');
    return this.get(rows[0].id);
  }

  async rename(id: string, name: string): Promise<TeamView> {
    await this.get(id);
    await this.ds.query('UPDATE teams SET name = $2 WHERE id = $1', [id, name]).catch((err) => this.conflict(err));
    return this.get(id);
  }

  /** Only an unused team can go: tickets and inboxes keep their team (FK), members are simply released. */
  async remove(id: string): Promise<void> {
    await this.get(id);
    await this.ds.query('DELETE FROM teams WHERE id = $1', [id]).catch((err) => this.conflict(err));
    this.logger.info({ teamId: id }, 'team deleted');
  }

  private conflict(err: { code?: string }): never {
    if (err.code === '23505') throw new ConflictException('a team with this name already exists');
    if (err.code === '23503') throw new ConflictException('team still owns tickets or inboxes; move them first');
    throw err;
  }
}

function view(r: { id: string; name: string; created_at: Date; members: number }): TeamView {
  return { id: r.id, name: r.name, memberCount: r.members, createdAt: new Date(r.created_at).toISOString() };
}
