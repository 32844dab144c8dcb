import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  JobName,
  QueueName,
  TicketEvent,
  isJobName,
  isTicketEventRow,
  jobOptions,
  parseJob,
  subscriberQueues,
  ticketEventJobId,
} from '@oq/contracts';
import { listenForOutbox, OutboxRepository, OutboxRow } from '@oq/database';
import { CONFIG, LOGGER, MetricsService, PlatformConfig, QueueService } from '@oq/platform';
import { Counter } from 'prom-client';
import * as pg from 'pg';
import { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { TicketEventBus } from './outbox.service';

const CLAIM_LIMIT = 500;
const POLL_MS = 1000;

/** One job the relay hands to a queue. */
interface Relayed {
  name: JobName;
  payload: unknown;
  jobId: string;
  delayMs: number;
}

/**
 * Moves outbox rows to BullMQ. Woken by LISTEN `outbox` (the table's trigger
 * notifies at commit) with a 1 s poll as fallback. Rows are deleted in the same
 * transaction that hands them to Redis and that transaction commits only after
 * Redis accepted them: a crash in between re-sends, and every job carries a
 * deterministic id (its own or `outbox-<row id>`) so a re-send is a no-op.
 * `FOR UPDATE SKIP LOCKED` lets several replicas relay side by side.
 *
 * A ticket event goes to the queue of each consumer subscribed to its type (libs/contracts
 * events.ts) — never to one queue for all — and to the in-process bus after commit.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private listener?: pg.Client;
  private pollTimer?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private readonly relayed: Counter<string>;
  private readonly published: Counter<string>;

  constructor(
    private readonly ds: DataSource,
    private readonly outbox: OutboxRepository,
    private readonly queues: QueueService,
    private readonly bus: TicketEventBus,
    @Inject(CONFIG) private readonly config: PlatformConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: MetricsService,
  ) {
    this.relayed = metrics.counter('oq_outbox_relayed_total', 'Outbox rows handed to BullMQ', ['queue']);
    this.published = metrics.counter('oq_ticket_events_total', 'Ticket events relayed (to subscribers and sockets)', [
      'type',
    ]);
    const lag = metrics.gauge('oq_outbox_lag_seconds', 'Age of the oldest outbox row not yet relayed');
    // Read on scrape: the oldest row's age is the relay's lag, whichever replica relays.
    Object.assign(lag, {
      collect: async () => {
        lag.set(await this.outbox.lagSeconds());
      },
    });
  }

  onApplicationBootstrap() {
    void this.listen();
    this.pollTimer = setInterval(() => this.wake(), POLL_MS);
    this.pollTimer.unref();
    this.wake();
  }

  async onApplicationShutdown() {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    await this.listener?.end().catch(() => undefined);
    await this.running;
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.config.DATABASE_URL, application_name: 'outbox-relay' });
    this.listener = client;
    const retry = (err?: Error) => {
      if (this.stopped || this.listener !== client) return;
      this.listener = undefined;
      this.logger.warn({ err: err?.message }, 'outbox listener lost; reconnecting');
      client.end().catch(() => undefined);
      this.reconnectTimer = setTimeout(() => void this.listen(), 1000);
    };
    client.on('error', retry);
    client.on('end', () => retry());
    client.on('notification', () => this.wake());
    try {
      await client.connect();
      await listenForOutbox(client);
      this.wake(); // rows committed while we were not listening
    } catch (err) {
      retry(err as Error);
    }
  }

  /** Coalesces wake-ups: one drain at a time, and one more if woken meanwhile. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err) => this.logger.error({ err: (err as Error).message }, 'outbox relay failed; will retry'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Relays until the table is empty (or a claim comes back short). Resolves when done. */
  async drain(): Promise<void> {
    for (;;) {
      const claimed = await this.relayOnce();
      if (claimed < CLAIM_LIMIT || this.stopped) return;
    }
  }

  private async relayOnce(): Promise<number> {
    const events: TicketEvent[] = [];
    const count = await this.ds.transaction(async (manager) => {
      const outbox = this.outbox.with(manager);
      const rows = await outbox.claim(CLAIM_LIMIT);
      if (!rows.length) return 0;
      rows.sort((a, b) => Number(a.id) - Number(b.id));
      const byQueue = new Map<QueueName, Relayed[]>();
      const add = (queue: QueueName, job: Relayed) => {
        const list = byQueue.get(queue) ?? [];
        list.push(job);
        byQueue.set(queue, list);
      };
      const known = new Set<string>(Object.values(QueueName));
      const undeliverable: OutboxRow[] = [];
      for (const row of rows) {
        if (isTicketEventRow(row)) {
          const event = this.ticketEvent(row);
          if (!event) {
            undeliverable.push(row);
            continue;
          }
          events.push(event);
          for (const queue of subscriberQueues(event.type))
            add(queue, { name: JobName.TicketEvent, payload: row.payload, jobId: ticketEventJobId(event), delayMs: 0 });
          continue;
        }
        if (!known.has(row.queue) || !isJobName(row.job_name)) {
          undeliverable.push(row);
          continue;
        }
        add(row.queue as QueueName, {
          name: row.job_name,
          payload: row.payload,
          jobId: row.job_id ?? `outbox-${row.id}`,
          delayMs: row.delay_ms,
        });
      }
      // Redis first; the DELETE commits only when every queue accepted its jobs.
      await Promise.all(
        [...byQueue].map(([queue, list]) =>
          this.queues.queue(queue).addBulk(
            list.map((r) => ({
              name: r.name,
              data: r.payload,
              opts: jobOptions(r.name, { jobId: r.jobId, delay: r.delayMs > 0 ? r.delayMs : undefined }),
            })),
          ),
        ),
      );
      if (undeliverable.length) {
        // A row naming a queue this build does not know would block the relay forever: park it visibly.
        for (const r of undeliverable)
          this.logger.error({ outboxId: r.id, queue: r.queue, job: r.job_name }, 'outbox row for unknown queue/job');
        await outbox.deadLetter(
          undeliverable.map((r) => ({
            queue: r.queue,
            jobName: r.job_name,
            jobId: r.job_id ?? `outbox-${r.id}`,
            payloadText: JSON.stringify(r.payload),
          })),
        );
      }
      for (const [queue, list] of byQueue) this.relayed.inc({ queue }, list.length);
      return rows.length;
    });
    // Published after commit: sockets never see an event whose jobs might be re-sent as new.
    for (const e of events) {
      this.published.inc({ type: e.type });
      this.bus.publish(e);
    }
    return count;
  }

  /** The row's event, or undefined (logged) when its payload is not one: nothing can route it. */
  private ticketEvent(row: OutboxRow): TicketEvent | undefined {
    try {
      return parseJob(JobName.TicketEvent, row.payload);
    } catch (err) {
      this.logger.warn({ outboxId: row.id, err: (err as Error).message }, 'ticket event not published');
      return undefined;
    }
  }
}
