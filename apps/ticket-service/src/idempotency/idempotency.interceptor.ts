import { createHash } from 'node:crypto';
import {
  BadRequestException,
  CallHandler,
  ConflictException,
  ExecutionContext,
  Inject,
  Injectable,
  NestInterceptor,
  UnprocessableEntityException,
  applyDecorators,
} from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { IdempotencyKeyRow, IdempotencyRepository } from '@oq/database';
import { ApiBadRequestReason, ApiErrors } from '@oq/platform';
import { FastifyReply, FastifyRequest } from 'fastify';
import { Observable, from, of, throwError } from 'rxjs';
import { catchError, mergeMap } from 'rxjs/operators';
import { AuthenticatedAgent } from '../auth/authenticated-agent';

/** Documents Idempotency-Key on an operation that uses IdempotencyInterceptor. */
export const ApiIdempotent = () =>
  applyDecorators(
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'A retry with the same key and body gets the first response instead of acting twice (per agent, 24 h)',
      schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
    }),
    ApiBadRequestReason('idempotency-key', 'Idempotency-Key is not 1-255 visible ASCII characters'),
    ApiErrors({
      409: 'A request with this Idempotency-Key is still in progress (reason idempotency_in_progress)',
      422: 'This Idempotency-Key was already used for a different request (reason idempotency_key_reused)',
    }),
  );

/** A key whose first request never finished (crash mid-request) is free again after this long. */
const ABANDONED_AFTER_MS = 60_000;
/** Keys are kept this long (clients retry within minutes; a day covers overnight queues). */
const KEEP = '24 hours';

/**
 * `Idempotency-Key` on POSTs: the first request with a key claims it (a row in
 * idempotency_keys), its response is stored, and a retry with the same key and
 * the same body gets that response replayed instead of a second ticket or
 * reply. The same key with a different body is a client bug: 422. A retry
 * racing the first request gets 409 (still in progress). Failed requests
 * release the key so a corrected retry can use it. Keys are per agent.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(@Inject(IdempotencyRepository) private readonly keys: IdempotencyRepository) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = ctx.switchToHttp().getRequest<FastifyRequest & { agent?: AuthenticatedAgent }>();
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    const key = req.headers['idempotency-key'];
    if (req.method !== 'POST' || key === undefined || !req.agent) return next.handle();
    if (typeof key !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(key))
      throw new BadRequestException({
        statusCode: 400,
        message: 'validation failed',
        fields: [{ path: 'Idempotency-Key', message: 'must be 1-255 visible ASCII characters' }],
      });
    const agentId = req.agent.id;
    const path = req.url.split('?')[0];
    const bodyHash = createHash('sha256')
      .update(`${req.method} ${req.url}\n${canonicalJson(req.body ?? null)}`)
      .digest('hex');

    return from(this.claim(agentId, key, req.method, path, bodyHash)).pipe(
      mergeMap((stored) => {
        if (stored) {
          reply.header('idempotent-replayed', 'true');
          reply.status(stored.status_code);
          return of(stored.response ?? undefined);
        }
        return next.handle().pipe(
          mergeMap((body: unknown) =>
            from(this.keys.storeResponse(agentId, key, reply.statusCode, body)).pipe(mergeMap(() => of(body))),
          ),
          catchError((err: unknown) =>
            from(this.keys.release(agentId, key)).pipe(mergeMap(() => throwError(() => err))),
          ),
        );
      }),
    );
  }

  /** Claims the key (null) or returns the stored response to replay. */
  private async claim(
    agentId: string,
    key: string,
    method: string,
    path: string,
    bodyHash: string,
  ): Promise<(IdempotencyKeyRow & { status_code: number }) | null> {
    // Expired keys are swept now and then by whichever request happens along (indexed on created_at).
    if (Math.random() < 0.01) await this.keys.sweepExpired(KEEP);
    if (await this.keys.claim({ agentId, key, method, path, bodyHash }, `${ABANDONED_AFTER_MS} milliseconds`))
      return null;
    const row = await this.keys.find(agentId, key);
    if (!row) return this.claim(agentId, key, method, path, bodyHash);
    if (row.method !== method || row.path !== path || row.body_hash !== bodyHash)
      throw new UnprocessableEntityException({
        statusCode: 422,
        message: `Idempotency-Key ${key} was already used for a different request (${row.method} ${row.path} with another body)`,
        reason: 'idempotency_key_reused',
      });
    if (row.status_code === null)
      throw new ConflictException({
        statusCode: 409,
        message: `a request with Idempotency-Key ${key} is still in progress`,
        reason: 'idempotency_in_progress',
      });
    return { ...row, status_code: row.status_code };
  }
}

/** JSON with sorted keys, so `{a,b}` and `{b,a}` are the same body. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}
