import {
  BadRequestException,
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { MAX_PAYLOAD_DEPTH, jsonDepth } from '@oq/contracts';
import type { FastifyRequest } from 'fastify';
import secureJson from 'secure-json-parse';

/**
 * JSON bodies on every service. The depth is measured on the text before parsing: JSON.parse
 * copes with 100k levels, but everything after it (JSON.stringify, the card mask, a hash of the
 * body) recurses and overflowed the stack into a 500. Too deep, malformed or empty JSON is not a
 * parse error here but a `bodyProblem` on the request: ordinary routes answer 400 with it
 * (BodyProblemInterceptor), while a signed webhook route (@AcceptsBodyProblem) checks the
 * signature first and then acknowledges and dead-letters what its provider sent — a 4xx/5xx to
 * a provider makes it redeliver for days a body that will never parse.
 */
export interface BodyProblemRequest {
  bodyProblem?: string;
}

const ACCEPTS_BODY_PROBLEM = Symbol('oq:accepts-body-problem');

/** The route handles `req.bodyProblem` itself (after verifying who sent the body). */
export const AcceptsBodyProblem = () => SetMetadata(ACCEPTS_BODY_PROBLEM, true);

export function registerJsonBodyParser(app: NestFastifyApplication): void {
  // No limit of its own: the route's (@BodyLimit) or the server's default applies.
  // Async: Nest completes a two-argument parser only through the promise it returns.
  app.useBodyParser('application/json', {}, async (req: FastifyRequest, body: Buffer | string) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    const problem = (why: string) => {
      (req as BodyProblemRequest).bodyProblem = why;
      return undefined;
    };
    if (!text.trim()) return problem('empty JSON body');
    if (jsonDepth(text) > MAX_PAYLOAD_DEPTH) return problem(`JSON nested deeper than ${MAX_PAYLOAD_DEPTH} levels`);
    try {
      // As Fastify's own parser: a __proto__ / constructor.prototype key is refused, not merged.
      return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }) as unknown;
    } catch (err) {
      return problem(`invalid JSON: ${(err as Error).message}`);
    }
  });
}

@Injectable()
export class BodyProblemInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(ctx: ExecutionContext, next: CallHandler) {
    if (ctx.getType() === 'http') {
      const req = ctx.switchToHttp().getRequest<BodyProblemRequest>();
      if (
        req.bodyProblem &&
        !this.reflector.getAllAndOverride(ACCEPTS_BODY_PROBLEM, [ctx.getHandler(), ctx.getClass()])
      )
        throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: req.bodyProblem });
    }
    return next.handle();
  }
}
