import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { DataSource, EntityManager } from 'typeorm';
import { AgentProfile, AuthService } from '../auth/auth.service';
import { hashPassword } from '../auth/password';
import { AgentChanges } from './agent-changes';
import { CreateAgentBody, UpdateAgentBody } from './agents.dto';

export type AgentView = AgentProfile & { active: boolean };

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Injectable()
export class AgentsService {
  constructor(
    private readonly ds: DataSource,
    private readonly auth: AuthService,
    private readonly changes: AgentChanges,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async list(): Promise<AgentView[]> {
    const rows: { id: string; active: boolean }[] = await this.ds.query(
      'SELECT id, active FROM agents ORDER BY active DESC, name, id',
    );
    return Promise.all(rows.map(async (r) => ({ ...(await this.auth.profile(r.id)), active: r.active })));
  }

  async get(id: string): Promise<AgentView> {
    if (!UUID_RE.test(id)) throw new NotFoundException('agent not found');
    const rows = await this.ds.query('SELECT active FROM agents WHERE id = $1', [id]);
    if (!rows[0]) throw new NotFoundException('agent not found');
    return { ...(await this.auth.profile(id)), active: rows[0].active };
  }

  async create(body: CreateAgentBody): Promise<AgentView> {
    const hash = await hashPassword(body.password);
    const id = await this.write(async (m) => {
      const [row] = await m.query(
        'INSERT INTO agents (email, name, password_hash, role) VALUES ($1, $2, $3, $4) RETURNING id',
        [body.email, body.name, hash, body.role],
      );
      await this.setTeams(m, row.id, body.teamIds);
      return row.id as string;
    });
    this.logger.info({ agentId: id, role: body.role }, 'agent created');
    return this.get(id);
  }

  async update(id: string, body: UpdateAgentBody, actorId: string): Promise<AgentView> {
    await this.get(id);
    if (id === actorId && (body.active === false || body.role === 'agent'))
      throw new BadRequestException('admins cannot demote or deactivate themselves');
    const hash = body.password ? await hashPassword(body.password) : null;
    await this.write(async (m) => {
      await m.query(
        // A new password bumps the token version: every token issued before is refused from now on.
        `UPDATE agents SET email = coalesce($2, email), name = coalesce($3, name), password_hash = coalesce($4, password_hash),
                token_version = token_version + CASE WHEN $4::text IS NULL THEN 0 ELSE 1 END,
                role = coalesce($5, role), active = coalesce($6, active), updated_at = now()
          WHERE id = $1`,
        [id, body.email ?? null, body.name ?? null, hash, body.role ?? null, body.active ?? null],
      );
      if (body.teamIds) await this.setTeams(m, id, body.teamIds);
    });
    this.logger.info({ agentId: id, fields: Object.keys(body).filter((k) => k !== 'password') }, 'agent updated');
    if (body.role || body.teamIds || body.active === false || body.password) this.changes.changed$.next(id);
    return this.get(id);
  }

  /** Agents are deactivated, never deleted: their replies, notes and audit entries keep their author. */
  async deactivate(id: string, actorId: string): Promise<AgentView> {
    return this.update(id, { active: false }, actorId);
  }

  private async setTeams(m: EntityManager, agentId: string, teamIds: string[]) {
    await m.query('DELETE FROM agent_teams WHERE agent_id = $1', [agentId]);
    if (teamIds.length)
      await m.query(
        'INSERT INTO agent_teams (agent_id, team_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING',
        [agentId, teamIds],
      );
  }

  private async write<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.ds.transaction(fn);
    } catch (err) {
      const pg = err as { code?: string };
      if (pg.code === '23505') throw new ConflictException('an agent with this email already exists');
      if (pg.code === '23503') throw new BadRequestException('teamIds: team not found');
      throw err;
    }
  }
}
