import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { AgentRepository } from '@oq/database';
import { LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { DataSource } from 'typeorm';
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
    private readonly agents: AgentRepository,
    private readonly auth: AuthService,
    private readonly changes: AgentChanges,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async list(): Promise<AgentView[]> {
    const rows = await this.agents.listActiveFlags();
    return Promise.all(rows.map(async (r) => ({ ...(await this.auth.profile(r.id)), active: r.active })));
  }

  async get(id: string): Promise<AgentView> {
    if (!UUID_RE.test(id)) throw new NotFoundException('agent not found');
    const active = await this.agents.isActive(id);
    if (active === undefined) throw new NotFoundException('agent not found');
    return { ...(await this.auth.profile(id)), active };
  }

  async create(body: CreateAgentBody): Promise<AgentView> {
    const hash = await hashPassword(body.password);
    const id = await this.write(async (agents) => {
      const agentId = await agents.insert({ email: body.email, name: body.name, passwordHash: hash, role: body.role });
      await agents.replaceTeams(agentId, body.teamIds);
      return agentId;
    });
    this.logger.info({ agentId: id, role: body.role }, 'agent created');
    return this.get(id);
  }

  async update(id: string, body: UpdateAgentBody, actorId: string): Promise<AgentView> {
    await this.get(id);
    if (id === actorId && (body.active === false || body.role === 'agent'))
      throw new BadRequestException('admins cannot demote or deactivate themselves');
    const hash = body.password ? await hashPassword(body.password) : null;
    await this.write(async (agents) => {
      // A new password bumps the token version: every token issued before is refused from now on.
      await agents.update(id, {
        email: body.email,
        name: body.name,
        passwordHash: hash,
        role: body.role,
        active: body.active,
      });
      if (body.teamIds) await agents.replaceTeams(id, body.teamIds);
    });
    this.logger.info({ agentId: id, fields: Object.keys(body).filter((k) => k !== 'password') }, 'agent updated');
    if (body.role || body.teamIds || body.active === false || body.password) this.changes.changed$.next(id);
    return this.get(id);
  }

  /** Agents are deactivated, never deleted: their replies, notes and audit entries keep their author. */
  async deactivate(id: string, actorId: string): Promise<AgentView> {
    return this.update(id, { active: false }, actorId);
  }

  /** One transaction; constraint violations become the 4xx the admin can act on. */
  private async write<T>(fn: (agents: AgentRepository) => Promise<T>): Promise<T> {
    try {
      return await this.ds.transaction((m) => fn(this.agents.with(m)));
    } catch (err) {
      const pg = err as { code?: string };
      if (pg.code === '23505') throw new ConflictException('an agent with this email already exists');
      if (pg.code === '23503') throw new BadRequestException('teamIds: team not found');
      throw err;
    }
  }
}
