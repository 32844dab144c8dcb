import { createAdapter, RedisAdapterOptions } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Logger } from 'pino';

/**
 * The Redis connections behind a socket.io gateway (ticket-service's `/realtime`, chat-service's
 * `/chat/socket`): the Redis adapter's pub/sub pair, which carries emits and `fetchSockets` between
 * replicas, and subscribers to plain pub/sub channels. Each is a duplicate of the service's
 * connection (a subscribed connection can run nothing else) whose errors are logged under `label`.
 * Nest closes the gateway's server on app.close() before the shutdown hooks run, so the gateway's
 * onApplicationShutdown calls `close()` once nothing uses the connections any more.
 */
export class GatewayRedis {
  private readonly connections: Redis[] = [];

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {}

  /** For `server.adapter(…)`; `key` names the adapter's channels, so deployments sharing a Redis never cross. */
  adapter(options: Pick<RedisAdapterOptions, 'key'> & Partial<RedisAdapterOptions>, label: string) {
    return createAdapter(this.duplicate(label), this.duplicate(label), options);
  }

  /** Calls `onMessage` with every message published on `channel`; resolves once subscribed. */
  subscribe(channel: string, label: string, onMessage: (raw: string) => void): Promise<void> {
    const subscriber = this.duplicate(label);
    subscriber.on('message', (_channel, raw: string) => onMessage(raw));
    const subscribed = subscriber.subscribe(channel).then(() => undefined);
    // Only refused when the connection is quit first (commands wait for Redis otherwise): a caller
    // that does not await it must not turn that into an unhandled rejection.
    subscribed.catch(() => undefined);
    return subscribed;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.connections.map((c) => c.quit()));
  }

  private duplicate(label: string): Redis {
    const connection = this.redis.duplicate();
    connection.on('error', (err) => this.logger.warn({ err: err.message }, label));
    this.connections.push(connection);
    return connection;
  }
}
