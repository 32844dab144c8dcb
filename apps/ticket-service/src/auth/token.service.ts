import { Inject, Injectable } from '@nestjs/common';
import { AgentRepository } from '@oq/database';
import { CONFIG } from '@oq/platform';
import { JWTPayload, SignJWT, jwtVerify } from 'jose';
import { Config } from '../config';
import { AuthenticatedAgent } from './authenticated-agent';

const ISSUER = 'oq-ticket-service';
/** How far a token's `iat` may lie ahead of this replica's clock (replicas' clocks drift apart). */
export const CLOCK_SKEW_SECONDS = 60;
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
    private readonly agents: AgentRepository,
  ) {
    this.key = new TextEncoder().encode(config.JWT_SECRET);
  }

  /** `tokenVersion` is the agent's `token_version` as read with the credentials that were checked. */
  async sign(agent: AuthenticatedAgent, tokenVersion: number): Promise<{ token: string; expiresAt: Date }> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + this.config.JWT_TTL_SECONDS;
    const token = await new SignJWT({ role: agent.role, teams: agent.teamIds, tv: tokenVersion })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(agent.id)
      .setIssuer(ISSUER)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.key);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /**
   * Verifies signature, algorithm, issuer, expiry and issue time; returns the subject, expiry and
   * token version or null. Tokens signed before versions existed carry no `tv` and count as 0.
   */
  async verify(token: string): Promise<{ agentId: string; exp: number; tokenVersion: number } | null> {
    const result = await this.check(token);
    return result.ok ? result.claims : null;
  }

  /**
   * jose rejects a future `iat` only together with `maxTokenAge`, so it is checked here: a token
   * issued more than CLOCK_SKEW_SECONDS ahead of this replica's clock is refused (a replica with a
   * fast clock would otherwise mint tokens that outlive their TTL elsewhere). Expiry is checked
   * without tolerance: a slow verifier only shortens a token's life by the skew.
   */
  private async check(
    token: string,
  ): Promise<
    { ok: true; claims: { agentId: string; exp: number; tokenVersion: number } } | { ok: false; reason: string }
  > {
    const invalid = { ok: false as const, reason: 'invalid or expired token' };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], issuer: ISSUER }));
    } catch {
      return invalid;
    }
    if (typeof payload.sub !== 'string' || !UUID_RE.test(payload.sub) || typeof payload.exp !== 'number')
      return invalid;
    // jose has checked that an `iat` present is a number; tokens without one (none we sign) have no issue time to check.
    if (payload.iat !== undefined && payload.iat > Date.now() / 1000 + CLOCK_SKEW_SECONDS)
      return { ok: false, reason: `token issued in the future (more than ${CLOCK_SKEW_SECONDS} s of clock skew)` };
    const tv = payload.tv ?? 0;
    if (!Number.isSafeInteger(tv)) return invalid;
    return { ok: true, claims: { agentId: payload.sub, exp: payload.exp, tokenVersion: tv as number } };
  }

  /** The active agent with its current teams, or null when unknown or deactivated. */
  async loadAgent(agentId: string): Promise<AuthenticatedAgent | null> {
    return (await this.loadAgentRow(agentId))?.agent ?? null;
  }

  private async loadAgentRow(agentId: string): Promise<{ agent: AuthenticatedAgent; tokenVersion: number } | null> {
    const row = await this.agents.findActiveForAuth(agentId);
    return row
      ? { agent: { id: row.id, role: row.role, teamIds: row.team_ids }, tokenVersion: row.token_version }
      : null;
  }

  /**
   * Token → fresh agent, or the reason it is refused: invalid or expired, issued in the future
   * beyond the clock skew, agent unknown or deactivated, or issued before the agent's password
   * last changed (a lower token version). HTTP guard and socket handshake both come through here.
   */
  async authenticate(token: string): Promise<AuthResult> {
    const checked = await this.check(token);
    if (!checked.ok) return checked;
    const claims = checked.claims;
    const row = await this.loadAgentRow(claims.agentId);
    if (!row) return { ok: false, reason: 'invalid or expired token' };
    if (claims.tokenVersion !== row.tokenVersion)
      return { ok: false, reason: 'token revoked by a password change; log in again' };
    return { ok: true, agent: row.agent, exp: claims.exp };
  }
}

export type AuthResult = { ok: true; agent: AuthenticatedAgent; exp: number } | { ok: false; reason: string };
