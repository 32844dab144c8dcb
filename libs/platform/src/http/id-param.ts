import { NotFoundException, ParseUUIDPipe } from '@nestjs/common';

/**
 * The pipe for an id a caller names (an `:id` path parameter, an id in the query): a malformed id
 * is "not found", like an unknown or invisible one, so ids cannot be probed by their shape.
 * `notFound` is the 404's message. Admin-only routes, which have nothing to hide, may say 400.
 */
export function idParam(notFound = 'not found'): ParseUUIDPipe {
  return new ParseUUIDPipe({ exceptionFactory: () => new NotFoundException(notFound) });
}

export const IdParam = idParam();
