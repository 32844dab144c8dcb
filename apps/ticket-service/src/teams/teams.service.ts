import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { TeamRepository, TeamRow } from '@oq/database';
import { LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { z } from 'zod';
import { TeamView } from './teams.dto';

export type TeamView = z.infer<typeof TeamView>;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Injectable()
export class TeamsService {
  constructor(
    private readonly teams: TeamRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async list(): Promise<TeamView[]> {
    return (await this.teams.list()).map(view);
  }

  async get(id: string): Promise<TeamView> {
    if (!UUID_RE.test(id)) throw new NotFoundException('team not found');
    const row = await this.teams.find(id);
    if (!row) throw new NotFoundException('team not found');
    return view(row);
  }

  async create(name: string): Promise<TeamView> {
    const id = await this.teams.insert(name).catch((err: { code?: string }) => this.conflict(err));
    this.logger.info({ teamId: id }, 'team created');
    return this.get(id);
  }

  async rename(id: string, name: string): Promise<TeamView> {
    await this.get(id);
    await this.teams.rename(id, name).catch((err: { code?: string }) => this.conflict(err));
    return this.get(id);
  }

  /** Only an unused team can go: tickets and inboxes keep their team (FK), members are simply released. */
  async remove(id: string): Promise<void> {
    await this.get(id);
    await this.teams.delete(id).catch((err: { code?: string }) => this.conflict(err));
    this.logger.info({ teamId: id }, 'team deleted');
  }

  private conflict(err: { code?: string }): never {
    if (err.code === '23505') throw new ConflictException('a team with this name already exists');
    if (err.code === '23503') throw new ConflictException('team still owns tickets or inboxes; move them first');
    throw err;
  }
}

function view(r: TeamRow): TeamView {
  return { id: r.id, name: r.name, memberCount: r.members, createdAt: new Date(r.created_at).toISOString() };
}
