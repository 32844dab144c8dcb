import { Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuthenticatedAgent } from './authenticated-agent';
import { LoginThrottle } from './login-throttle';
import { DUMMY_PASSWORD_HASH, verifyPassword } from './password';
import { TokenService } from './token.service';

export interface AgentProfile {
  id: string;
  email: string;
  name: string;
  role: 'admin' | 'agent';
  presence: 'online' | 'away' | 'offline';
  presenceAt: string | null;
  teams: { id: string; name: string }[];
}

@Injectable()
export class AuthService {
  constructor(
    private readonly ds: DataSource,
    private readonly tokens: TokenService,
    private readonly throttle: LoginThrottle,
  ) {}

  /**
   * One generic 401 for unknown email, wrong password and deactivated agent, and the
   * same scrypt work in each case, so neither the answer nor its timing tells them apart.
   */
  async login(email: string, password: string, ip: string) {
    await this.throttle.assertAllowed(email, ip);
    // The token version is read with the hash it belongs to: a password change racing this
    // login bumps the version, so a token for the old password is born revoked.
    const rows: { id: string; password_hash: string; active: boolean; token_version: number }[] = await this.ds.query(
      'SELECT id, password_hash, active, token_version FROM agents WHERE lower(email) = lower($1)',
      [email],
    );
    const row = rows[0];
    const ok = await verifyPassword(password, row?.password_hash ?? DUMMY_PASSWORD_HASH);
    const agent = ok && row?.active ? await this.tokens.loadAgent(row.id) : null;
    if (!agent) {
      await this.throttle.failed(email, ip);
      throw new UnauthorizedException('invalid email or password');
    }
    await this.throttle.succeeded(email, ip);
    const { token, expiresAt } = await this.tokens.sign(agent, row.token_version);
    return {
      accessToken: token,
      tokenType: 'Bearer',
      expiresAt: expiresAt.toISOString(),
      agent: await this.profile(agent.id),
    };
  }

  async profile(agentId: string): Promise<AgentProfile> {
    const rows = await this.ds.query(
      `SELECT a.id, a.email, a.name, a.role, a.presence, a.presence_at,
              coalesce(json_agg(json_build_object('id', t.id, 'name', t.name) ORDER BY t.name)
                       FILTER (WHERE t.id IS NOT NULL), '[]') AS teams
         FROM agents a
         LEFT JOIN agent_teams at ON at.agent_id = a.id
         LEFT JOIN teams t ON t.id = at.team_id
        WHERE a.id = $1
        GROUP BY a.id`,
      [agentId],
    );
    const r = rows[0];
    if (!r) throw new NotFoundException('agent not found');
    return {
      id: r.id,
      email: r.email,
      name: r.name,
      role: r.role,
      presence: r.presence,
      presenceAt: r.presence_at ? new Date(r.presence_at).toISOString() : null,
      teams: r.teams,
    };
  }

  async setPresence(agent: AuthenticatedAgent, presence: 'online' | 'away' | 'offline'): Promise<AgentProfile> {
    await this.ds.query('UPDATE agents SET presence = $2, presence_at = now(), updated_at = now() WHERE id = $1', [
      agent.id,
      presence,
    ]);
    return this.profile(agent.id);
  }
}
