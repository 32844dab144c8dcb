import { HttpStatus, Inject, Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { AgentRepository } from '@oq/database';
import { CONFIG, LOGGER, MetricsService } from '@oq/platform';
import { Logger } from 'pino';
import { Counter } from 'prom-client';
import { Config } from '../config';
import { AuthenticatedAgent } from './authenticated-agent';
import { LoginThrottle, RetryLaterException } from './login-throttle';
import { DUMMY_PASSWORD_HASH, hashPassword, needsRehash, verifyPassword } from './password';
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
  /** Logins hashing right now in this process (LOGIN_MAX_CONCURRENT_HASHES). */
  private hashing = 0;
  private readonly checks: Counter<string>;
  private readonly refused: Counter<string>;

  constructor(
    private readonly agents: AgentRepository,
    private readonly tokens: TokenService,
    private readonly throttle: LoginThrottle,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: MetricsService,
  ) {
    this.checks = metrics.counter(
      'oq_login_password_checks_total',
      'Passwords checked by scrypt at login (unknown emails against the dummy hash), by result',
      ['result'],
    );
    this.refused = metrics.counter(
      'oq_login_refused_total',
      'Logins refused before any password check: throttled (429) or no hashing slot (503)',
      ['reason'],
    );
  }

  /**
   * One generic 401 for unknown email, wrong password and deactivated agent, and the
   * same scrypt work in each case, so neither the answer nor its timing tells them apart.
   * Order: reserve an attempt (429), take a hashing slot (503, attempt refunded), then check.
   */
  async login(email: string, password: string, ip: string) {
    try {
      await this.throttle.reserve(email, ip);
    } catch (err) {
      if (err instanceof RetryLaterException) this.refused.inc({ reason: 'throttled' });
      throw err;
    }
    if (this.hashing >= this.config.LOGIN_MAX_CONCURRENT_HASHES) {
      this.refused.inc({ reason: 'busy' });
      await this.throttle.refund(email, ip);
      throw new RetryLaterException(
        HttpStatus.SERVICE_UNAVAILABLE,
        'too many logins in progress; try again shortly',
        1,
      );
    }
    this.hashing++;
    let checked: { agent: AuthenticatedAgent; tokenVersion: number } | null;
    try {
      checked = await this.check(email, password);
    } catch (err) {
      // Database or scrypt trouble is no failed guess.
      await this.throttle.refund(email, ip).catch(() => undefined);
      throw err;
    } finally {
      this.hashing--;
    }
    // A failed check keeps its reservation: that is the failure count.
    if (!checked) throw new UnauthorizedException('invalid email or password');
    await this.throttle.succeeded(email, ip);
    const { token, expiresAt } = await this.tokens.sign(checked.agent, checked.tokenVersion);
    return {
      accessToken: token,
      tokenType: 'Bearer',
      expiresAt: expiresAt.toISOString(),
      agent: await this.profile(checked.agent.id),
    };
  }

  /** The password check (and an upgrade of a weaker stored hash), run while holding a hashing slot. */
  private async check(email: string, password: string) {
    // The token version is read with the hash it belongs to: a password change racing this
    // login bumps the version, so a token for the old password is born revoked.
    const row = await this.agents.credentialsByEmail(email);
    const ok = await verifyPassword(password, row?.password_hash ?? DUMMY_PASSWORD_HASH);
    this.checks.inc({ result: ok ? 'match' : 'mismatch' });
    const agent = ok && row?.active ? await this.tokens.loadAgent(row.id) : null;
    if (!agent || !row) return null;
    if (needsRehash(row.password_hash)) await this.rehash(row.id, row.password_hash, password);
    return { agent, tokenVersion: row.token_version };
  }

  /**
   * Stored with weaker scrypt parameters than today's: store a hash at today's cost. Only if the
   * row still holds the hash just verified (a password change meanwhile wins); not a password
   * change, so issued tokens stay valid. A failure is logged and the login still succeeds.
   */
  private async rehash(agentId: string, oldHash: string, password: string) {
    try {
      const hash = await hashPassword(password);
      await this.agents.upgradePasswordHash(agentId, oldHash, hash);
      this.logger.info({ agentId }, 'password re-hashed with current scrypt parameters');
    } catch (err) {
      this.logger.warn({ agentId, err: (err as Error).message }, 'password re-hash failed');
    }
  }

  async profile(agentId: string): Promise<AgentProfile> {
    const r = await this.agents.profile(agentId);
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
    await this.agents.setPresence(agent.id, presence);
    return this.profile(agent.id);
  }
}
