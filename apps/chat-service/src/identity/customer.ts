import { IdentityRef } from '@oq/contracts';
import { z } from 'zod';

/**
 * What a customer client presents, on the socket handshake (`auth`) or as
 * REST headers. A user claim (userId/userJwt) must be verified by the inbox's
 * secret; a visitor token must be one chat-service issued.
 */
export const CustomerCredentials = z.object({
  inboxId: z.string().min(1).max(64),
  visitorToken: z.string().min(10).max(200).optional(),
  /** HS256 JWT signed by the app's backend with the inbox secret: { user_id, exp, name?, email? }. */
  userJwt: z.string().min(10).max(4096).optional(),
  /** Or the user id with hex HMAC-SHA256(inbox secret, user id). */
  userId: z.string().min(1).max(200).optional(),
  userHash: z.string().min(1).max(200).optional(),
  name: z.string().max(200).optional(),
});
export type CustomerCredentials = z.infer<typeof CustomerCredentials>;

export interface Customer {
  inboxId: string;
  /** Who the messages come from: the verified app user, else the visitor. */
  identity: IdentityRef;
  /** Identities vouched for alongside (the visitor a user signed in from, a signed email). */
  linked: IdentityRef[];
  /** Every room whose messages this customer receives (their own identities, past visitors). */
  rooms: string[];
  displayName?: string;
  visitorId?: string;
  appUserId?: string;
}

export class CustomerAuthError extends Error {
  constructor(
    readonly code:
      | 'unknown_inbox'
      | 'inbox_invalid'
      | 'origin_not_allowed'
      | 'unverified_user'
      | 'invalid_visitor'
      | 'no_identity'
      | 'rate_limited',
    message: string,
  ) {
    super(message);
    this.name = 'CustomerAuthError';
  }
}

/** Socket room of one customer identity in one inbox; every replica uses the same name. */
export function roomOf(inboxId: string, identity: IdentityRef): string {
  return `chat:${inboxId}:${identity.kind}:${identity.value}`;
}
