import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';

/**
 * What a route reads of a body when it does not say otherwise: agent, client and internal JSON.
 * Bodies are read (and JSON parsed) before guards run, so this is also what an unauthenticated
 * caller can make a service buffer per request; routes that need more say so with @BodyLimit.
 * Streamed uploads (multipart, application/octet-stream) are not read by Fastify and are capped
 * by their own size limit while streaming to the blob store.
 */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * The most a route reads of a request body, in bytes. Fastify answers 413 before reading a byte
 * when Content-Length says more, and as soon as a chunked body passes the limit.
 * It is the route's Fastify config (Nest's @RouteConfig): a route that needs both sets one config.
 */
export function BodyLimit(bytes: number): MethodDecorator {
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`@BodyLimit needs a positive integer, got ${bytes}`);
  return RouteConfig({ bodyLimit: bytes });
}

/** Applies @BodyLimit: Nest passes route config to Fastify, but a route's own bodyLimit only through onRoute. */
export function applyRouteBodyLimits(fastify: FastifyInstance): void {
  fastify.addHook('onRoute', (route) => {
    const limit = (route.config as { bodyLimit?: number } | undefined)?.bodyLimit;
    if (limit) route.bodyLimit = limit;
  });
}
