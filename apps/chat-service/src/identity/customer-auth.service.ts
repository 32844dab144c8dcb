import { Inject, Injectable } from '@nestjs/common';
import { IdentityRef } from '@oq/contracts';
import { ChatVisitorRepository } from '@oq/database';
import { CONFIG, LOGGER, REDIS, safeEqual } from '@oq/platform';
import { Redis } from 'ioredis';
import { jwtVerify } from 'jose';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Logger } from 'pino';
import { Config } from '../config';
import { ChatInbox } from '../inboxes/chat-inbox';
import { ChatInboxes } from '../inboxes/inbox-directory.service';
import { Customer, CustomerAuthError, CustomerCredentials, roomOf } from './customer';

interface VerifiedUser {
  userId: string;
  name?: string;
  email?: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Turns presented credentials into a Customer. A claim to be an app user is
 * accepted only with a valid signature by the inbox's secret (JWT or user
 * hash); anything else is refused rather than downgraded to a visitor, so a
 * forged user id never reaches a ticket.
 */
@Injectable()
export class CustomerAuthService {
  constructor(
    private readonly inboxes: ChatInboxes,
    private readonly visitors: ChatVisitorRepository,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async inbox(inboxId: string): Promise<ChatInbox> {
    const inbox = await this.inboxes.get(inboxId);
    if (inbox?.enabled) return inbox;
    // Refused outright, never served with default settings (an empty allow-list admits every origin).
    const invalid = this.inboxes.invalidReason(inboxId);
    if (invalid)
      throw new CustomerAuthError(
        'inbox_invalid',
        `this chat inbox is disabled until an admin fixes its settings: ${invalid}`,
      );
    throw new CustomerAuthError('unknown_inbox', 'unknown or disabled chat inbox');
  }

  /** Browsers send Origin; native apps do not. An inbox with an allow-list refuses foreign browser origins. */
  checkOrigin(inbox: ChatInbox, origin: string | undefined): void {
    const allowed = inbox.settings.allowedOrigins;
    if (!origin || allowed.length === 0) return;
    if (allowed.includes('*') || allowed.includes(origin.replace(/\/$/, ''))) return;
    throw new CustomerAuthError('origin_not_allowed', `origin ${origin} is not allowed for this inbox`);
  }

  async issueVisitor(inbox: ChatInbox): Promise<{ visitorId: string; token: string }> {
    const token = `v1.${randomBytes(32).toString('base64url')}`;
    return { visitorId: await this.visitors.insert(inbox.id, sha256(token)), token };
  }

  async authenticate(creds: CustomerCredentials): Promise<Customer> {
    const inbox = await this.inbox(creds.inboxId);
    const user = await this.verifyUser(inbox, creds);
    const known = creds.visitorToken ? await this.verifyVisitor(inbox, creds.visitorToken) : undefined;
    if (known?.appUserId && !user)
      // After sign-in the visitor's history is the user's: a bare visitor token (a shared device after
      // sign-out) must not read it. The widget starts a new visitor on this error.
      throw new CustomerAuthError(
        'invalid_visitor',
        'this visitor has signed in: sign in again or start a new visitor',
      );
    // A visitor already claimed by another user is not linked to this one.
    const visitorId = known && (!known.appUserId || known.appUserId === user?.userId) ? known.id : undefined;
    if (!user && !visitorId)
      throw new CustomerAuthError('no_identity', 'a visitor token or a verified user is required');

    const visitor: IdentityRef | undefined = visitorId ? { kind: 'visitor', value: visitorId } : undefined;
    if (!user) {
      return {
        inboxId: inbox.id,
        identity: visitor!,
        linked: [],
        rooms: [roomOf(inbox.id, visitor!)],
        displayName: creds.name,
        visitorId,
      };
    }

    const identity: IdentityRef = { kind: 'app_user', value: user.userId };
    if (visitorId) {
      // The visitor signed in: remember it, so replies addressed to the visitor reach the user later too.
      await this.visitors.linkAppUser(visitorId, user.userId);
      await this.redis.del(this.userVisitorsKey(inbox.id, user.userId));
    }
    const earlier = await this.userVisitors(inbox.id, user.userId);
    const visitorIds = new Set(earlier);
    if (visitorId) visitorIds.add(visitorId);
    const linked: IdentityRef[] = [];
    if (visitor) linked.push(visitor);
    if (user.email) linked.push({ kind: 'email', value: user.email.toLowerCase() });
    return {
      inboxId: inbox.id,
      identity,
      linked,
      rooms: [identity, ...[...visitorIds].map((v) => ({ kind: 'visitor' as const, value: v }))].map((i) =>
        roomOf(inbox.id, i),
      ),
      displayName: user.name ?? creds.name,
      visitorId,
      appUserId: user.userId,
    };
  }

  private async verifyUser(inbox: ChatInbox, creds: CustomerCredentials): Promise<VerifiedUser | undefined> {
    if (!creds.userJwt && !creds.userId && !creds.userHash) return undefined;
    const secret = inbox.identitySecret;
    if (!secret) throw new CustomerAuthError('unverified_user', 'this inbox does not accept signed-in users');
    if (creds.userJwt) {
      try {
        const { payload } = await jwtVerify(creds.userJwt, new TextEncoder().encode(secret), {
          algorithms: ['HS256'],
          requiredClaims: ['exp'],
        });
        const userId = payload.user_id;
        if ((typeof userId !== 'string' && typeof userId !== 'number') || String(userId).length === 0)
          throw new Error('user_id claim missing');
        if (creds.userId && creds.userId !== String(userId)) throw new Error('user_id differs from the claimed user');
        return {
          userId: String(userId),
          name: typeof payload.name === 'string' ? payload.name.slice(0, 200) : undefined,
          email:
            typeof payload.email === 'string' && /^[^@\s]+@[^@\s]+$/.test(payload.email) ? payload.email : undefined,
        };
      } catch (err) {
        this.logger.info({ inboxId: inbox.id, reason: (err as Error).message }, 'chat user JWT refused');
        throw new CustomerAuthError('unverified_user', 'the user token is invalid or expired');
      }
    }
    if (!creds.userId || !creds.userHash)
      throw new CustomerAuthError('unverified_user', 'user id and user hash are both required');
    const expected = createHmac('sha256', secret).update(creds.userId).digest('hex');
    if (!safeEqual(expected, creds.userHash.toLowerCase())) {
      this.logger.info({ inboxId: inbox.id }, 'chat user hash refused');
      throw new CustomerAuthError('unverified_user', 'the user hash does not match the user id');
    }
    return { userId: creds.userId };
  }

  private userVisitorsKey(inboxId: string, userId: string) {
    return `${this.config.QUEUE_PREFIX}:chat:user-visitors:${inboxId}:${userId}`;
  }

  /**
   * The visitors a user signed in from. Read on every connect of a signed-in user, so it is
   * cached in Redis (a reconnect storm of thousands of users must not queue on the DB pool);
   * the '-' member marks a loaded set, and linking a visitor drops the entry.
   */
  private async userVisitors(inboxId: string, userId: string): Promise<string[]> {
    const key = this.userVisitorsKey(inboxId, userId);
    const cached = await this.redis.smembers(key);
    if (cached.length) return cached.filter((m) => m !== '-');
    const ids = await this.visitors.idsOfAppUser(inboxId, userId, 20);
    await this.redis
      .multi()
      .sadd(key, '-', ...ids)
      .expire(key, 24 * 3600)
      .exec();
    return ids;
  }

  private async verifyVisitor(inbox: ChatInbox, token: string): Promise<{ id: string; appUserId: string | null }> {
    const row = await this.visitors.touchByToken(sha256(token), inbox.id);
    if (!row) throw new CustomerAuthError('invalid_visitor', 'unknown visitor token');
    return { id: row.id, appUserId: row.app_user_id };
  }
}
