import { AsyncLocalStorage } from 'node:async_hooks';
import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';

/** Correlation id of the HTTP request or job being handled, added to every log line. */
export const correlation = new AsyncLocalStorage<{ correlationId: string }>();

export function withCorrelation<T>(correlationId: string, fn: () => T): T {
  return correlation.run({ correlationId }, fn);
}

/** Paths never written to logs, whatever object they appear in. */
const REDACT = [
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  '*.secrets',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers["x-service-token"]',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-telegram-bot-api-secret-token"]',
  'req.headers["x-twilio-signature"]',
  'req.headers.cookie',
];

export function createLogger(service: string, level: string): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[redacted]' },
    mixin() {
      const store = correlation.getStore();
      return store ? { correlationId: store.correlationId } : {};
    },
  });
}

/**
 * Nest's boot narration (one line per module, controller, route and gateway: ~80 per service) is
 * debug, not info: at the default level a start shows what the services say, not how Nest wired them.
 */
const NEST_BOOT_CONTEXTS = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
  'WebSocketsController',
  'NestMicroservice',
]);

/** Routes Nest's own logging into pino so every line is JSON. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string) {
    this.write(context && NEST_BOOT_CONTEXTS.has(context) ? 'debug' : 'info', message, context);
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string) {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string) {
    this.write('trace', message, context);
  }
  fatal(message: unknown, context?: string) {
    this.write('fatal', message, context);
  }
  private write(level: 'info' | 'warn' | 'debug' | 'trace' | 'fatal', message: unknown, context?: string) {
    if (typeof message === 'object' && message !== null) this.logger[level]({ context, ...message });
    else this.logger[level]({ context }, String(message));
  }
}

export const LOGGER = Symbol('LOGGER');
