import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  HttpStatus,
  NotFoundException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { Customer, CustomerAuthError, CustomerCredentials } from './customer';
import { CustomerAuthService } from './customer-auth.service';

type Headers = Record<string, string | string[] | undefined>;
const header = (h: Headers, name: string) => {
  const v = h[name];
  return (Array.isArray(v) ? v[0] : v) || undefined;
};

/**
 * REST calls of the widget carry the same credentials as the socket handshake,
 * as headers: x-chat-visitor-token, x-chat-user-token (JWT), or
 * x-chat-user-id + x-chat-user-hash.
 */
export async function customerFromRequest(
  auth: CustomerAuthService,
  inboxId: string,
  headers: Headers,
): Promise<Customer> {
  const parsed = CustomerCredentials.safeParse({
    inboxId,
    visitorToken: header(headers, 'x-chat-visitor-token'),
    userJwt: header(headers, 'x-chat-user-token'),
    userId: header(headers, 'x-chat-user-id'),
    userHash: header(headers, 'x-chat-user-hash'),
  });
  if (!parsed.success) throw new BadRequestException('malformed chat credentials');
  try {
    const inbox = await auth.inbox(inboxId);
    auth.checkOrigin(inbox, header(headers, 'origin'));
    return await auth.authenticate(parsed.data);
  } catch (err) {
    throw httpError(err);
  }
}

export function httpError(err: unknown): Error {
  if (!(err instanceof CustomerAuthError)) return err as Error;
  if (err.code === 'unknown_inbox') return new NotFoundException(err.message);
  if (err.code === 'inbox_invalid') return new ServiceUnavailableException(err.message);
  if (err.code === 'origin_not_allowed') return new ForbiddenException(err.message);
  if (err.code === 'rate_limited') return new HttpException(err.message, HttpStatus.TOO_MANY_REQUESTS);
  return new UnauthorizedException(err.message);
}
