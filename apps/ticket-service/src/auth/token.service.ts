import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@oq/platform';
import { SignJWT, jwtVerify } from 'jose';
import { DataSource } from 'typeorm';
import { Config } from '../config';
import { AuthenticatedAgent } from './authenticated-agent';

const ISSUER = 'oq-ticket-service';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Agent access tokens (HS256). The claims (role, teams) are a convenience for
 * clients; every request re-reads the agent from the database, so deactivation or a
 * team change takes effect at once instead of when the token expires.
 */
@Injectable()
export class TokenService {
  private readonly key: Uint8Array;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly ds: DataSource,
  ) {
    this.key = new TextEncoder().encode(config.JWT_SECRET);
  }

  async sign(agent: AuthenticatedAgent): Promise<{ token: string; expiresAt: Date }> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + this.config.JWT_TTL_SECONDS;
    const token = await new SignJWT({ role: agent.role, teams: agent.teamIds })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(agent.id)
      .setIssuer(ISSUER)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.key);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** Verifies signature, algorithm, issuer and expiry; returns the subject and expiry or null. */
  async verify(token: string): Promise<{ agentId: string; exp: number } | null> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], issuer: ISSUER });
      if (typeof payload.sub !== 'string' || !UUID_RE.test(payload.sub) || typeof payload.exp !== 'number') return null;
      return { agentId: payload.sub, exp: payload.exp };
    } catch {
      return null;
    }
  }

  /** The active agent with its current teams, or null when unknown or deactivated. */
  async loadAgent(agentId: string): Promise<AuthenticatedAgent | null> {
    const rows: { id: string; role: 'admin' | 'agent'; team_ids: string[] }[] = await this.ds.query(
      `SELECT a.id, a.role,
              coalesce(array_agg(at.team_id) FILTER (WHERE at.team_id IS NOT NULL), '{}') AS team_ids
         FROM agents a LEFT JOIN agent_teams at ON at.agent_id = a.id
        WHERE a.id = $1 AND a.active
        GROUP BY a.id`,
      [agentId],
    );
    const row = rows[0];
    return row ? { id: row.id, role: row.role, teamIds: row.team_ids } : null;
  }

  /** Token → fresh agent, or null for anything invalid, expired, unknown or deactivated. */
  async authenticate(token: string): Promise<{ agent: AuthenticatedAgent; exp: number } | null> {
    const claims = await this.verify(token);
    if (!claims) return null;
    const agent = await this.loadAgent(claims.agentId);
    return agent ? { agent, exp: claims.exp } : null;
  }
}
