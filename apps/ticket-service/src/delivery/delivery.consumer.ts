import { Injectable } from '@nestjs/common';
import {
  DeliveryReport,
  DeliveryRetry,
  DeliveryWatermark,
  InvalidPayloadError,
  JobName,
  JobPayload,
  QueueName,
  parseJob,
} from '@oq/contracts';
import { DeliveryMessageRow, DeliveryReportRepository, DeliveryReportStatus } from '@oq/database';
import { JobHandler } from '@oq/platform';
import { Job } from 'bullmq';
import { DataSource, EntityManager } from 'typeorm';
import { DeadLetterService } from '../dead-letters/dead-letter.service';
import { OutboxService } from '../outbox/outbox.service';

type Status = DeliveryReportStatus;
const RANK: Record<Exclude<Status, 'failed'>, number> = { queued: 0, sent: 1, delivered: 2, read: 3 };

/** Forward only: queued < sent < delivered < read; failed from anything but read; failed is final. */
export function deliveryMoves(from: Status | null, to: Status): boolean {
  if (from === null) return true;
  if (from === 'failed' || from === to) return false;
  if (to === 'failed') return from !== 'read';
  return RANK[to] > RANK[from];
}

type MessageRow = DeliveryMessageRow;

export type DeliveryOutcome =
  | { status: 'applied' | 'stale'; messageId: string; deliveryStatus: Status | null }
  | { status: 'parked' }
  | { status: 'dead_letter'; reason: string };

export type WatermarkOutcome = { status: 'watermark'; moved: string[] } | { status: 'dead_letter'; reason: string };

/**
 * Applies DeliveryReports to outbound messages. A provider callback can outrun
 * the send result that records the provider's id: such a report is parked and
 * applied when the send result arrives. Both paths take the same advisory lock
 * on (inbox, provider id), so a parked report can never slip between them.
 */
@Injectable()
export class DeliveryConsumer {
  constructor(
    private readonly ds: DataSource,
    private readonly outbox: OutboxService,
    private readonly deadLetters: DeadLetterService,
    private readonly reports: DeliveryReportRepository,
  ) {}

  @JobHandler(JobName.DeliveryReport, { raw: true })
  async handle(data: unknown, job: Job): Promise<DeliveryOutcome> {
    const report = await this.parse(JobName.DeliveryReport, data, job);
    if (report.status === 'dead_letter') return report;
    return this.ds.transaction((m) => this.apply(m, report, job.id ?? null, data));
  }

  @JobHandler(JobName.DeliveryWatermark, { raw: true })
  async handleWatermark(data: unknown, job: Job): Promise<WatermarkOutcome> {
    const watermark = await this.parse(JobName.DeliveryWatermark, data, job);
    if (watermark.status === 'dead_letter') return watermark;
    return this.ds.transaction((m) => this.applyWatermark(m, watermark));
  }

  @JobHandler(JobName.DeliveryRetry)
  async handleRetry(retry: DeliveryRetry): Promise<{ status: 'applied' | 'stale'; messageId: string }> {
    return this.ds.transaction((m) => this.applyRetry(m, retry));
  }

  /**
   * A send that will be tried again: the message stays `queued` and carries `metadata.retry`
   * (attempts, the provider's or network's words, when the next try is due) with a
   * message.delivery event, so agents see at once that it is not going out and can pick another
   * channel. Only while still queued, and only forward (a late notice of an earlier attempt
   * changes nothing).
   */
  async applyRetry(m: EntityManager, r: DeliveryRetry): Promise<{ status: 'applied' | 'stale'; messageId: string }> {
    const retry = { attempts: r.attempts, lastError: r.lastError, nextAttemptAt: r.nextAttemptAt, at: r.occurredAt };
    const msg = await this.reports.with(m).recordRetry(r.messageId, retry, r.attempts);
    if (!msg) return { status: 'stale', messageId: r.messageId };
    await this.outbox.write(m, [
      this.outbox.ticketEvent(
        'message.delivery',
        { id: msg.ticket_id, teamId: msg.team_id, assigneeId: msg.assignee_id },
        { messageId: msg.id, status: 'queued', from: 'queued', retry },
      ),
    ]);
    return { status: 'applied', messageId: msg.id };
  }

  /** Invalid payloads are dead-lettered with the zod reason, nothing else written. */
  private async parse<N extends JobName.DeliveryReport | JobName.DeliveryWatermark>(
    name: N,
    data: unknown,
    job: Job,
  ): Promise<JobPayload<N> | { status: 'dead_letter'; reason: string }> {
    try {
      return parseJob(name, data);
    } catch (err) {
      if (!(err instanceof InvalidPayloadError)) throw err;
      await this.deadLetters.record({
        queue: QueueName.Delivery,
        jobName: name,
        jobId: job.id,
        payload: data,
        reason: err.reason,
      });
      return { status: 'dead_letter', reason: err.reason };
    }
  }

  /**
   * A watermark covers our outbound messages to that customer on that inbox that the
   * provider had by the instant: handed over (the `sent` report's time, taken when the
   * provider call began) at or before it. Each moves forward like a single report
   * (locked in a fixed order, one message.delivery event each); queued, failed and
   * already-read messages are not touched, and a conversation we never wrote to is a no-op.
   */
  async applyWatermark(m: EntityManager, w: DeliveryWatermark): Promise<WatermarkOutcome> {
    const rows = await this.reports.with(m).watermarkCandidates(w);
    const moved: string[] = [];
    for (const row of rows) {
      const r = await this.move(m, row, w.status, undefined, undefined, w.occurredAt);
      if (r.status === 'applied') moved.push(row.id);
    }
    return { status: 'watermark', moved };
  }

  async apply(m: EntityManager, report: DeliveryReport, jobId: string | null, raw: unknown): Promise<DeliveryOutcome> {
    const reports = this.reports.with(m);
    if (report.providerMessageId) await reports.lockProviderMessage(report.inboxId, report.providerMessageId);

    if (report.messageId) {
      const found = await reports.findForUpdate(report.messageId);
      if (!found) {
        const reason = `no message ${report.messageId}`;
        await this.deadLetters.record(
          { queue: QueueName.Delivery, jobName: JobName.DeliveryReport, jobId, payload: raw, reason },
          m,
        );
        return { status: 'dead_letter', reason };
      }
      let msg = found;
      if (report.providerMessageId && !msg.provider_message_id) {
        await reports.setProviderMessageId(msg.id, report.providerMessageId);
        msg = { ...msg, provider_message_id: report.providerMessageId };
      }
      const outcome = await this.move(m, msg, report.status, report.reason, report.errorCode, report.occurredAt);
      if (msg.provider_message_id) {
        // Reports that arrived before we knew the provider id, in the order they happened.
        const parked = await reports.takeParked(msg.inbox_id, msg.provider_message_id);
        parked.sort((a, b) => a.occurred_at.getTime() - b.occurred_at.getTime() || Number(a.id) - Number(b.id));
        let current = outcome.deliveryStatus;
        for (const p of parked) {
          const r = await this.move(
            m,
            { ...msg, delivery_status: current },
            p.status,
            p.reason ?? undefined,
            p.error_code ?? undefined,
            p.occurred_at.toISOString(),
          );
          current = r.deliveryStatus;
        }
        if (parked.length) return { status: 'applied', messageId: msg.id, deliveryStatus: current };
      }
      return outcome;
    }

    // No message id: the payload schema then requires the provider's.
    const byProvider = await reports.findByProviderIdForUpdate(report.inboxId, report.providerMessageId!);
    if (!byProvider) {
      await reports.park({
        inboxId: report.inboxId,
        providerMessageId: report.providerMessageId!,
        status: report.status,
        reason: report.reason ?? null,
        errorCode: report.errorCode ?? null,
        occurredAt: report.occurredAt,
      });
      return { status: 'parked' };
    }
    return this.move(m, byProvider, report.status, report.reason, report.errorCode, report.occurredAt);
  }

  private async move(
    m: EntityManager,
    msg: MessageRow,
    to: Status,
    reason: string | undefined,
    errorCode: string | undefined,
    occurredAt: string,
  ): Promise<{ status: 'applied' | 'stale'; messageId: string; deliveryStatus: Status | null }> {
    if (!deliveryMoves(msg.delivery_status, to))
      return { status: 'stale', messageId: msg.id, deliveryStatus: msg.delivery_status };
    await this.reports.with(m).moveStatus(msg.id, to, reason ?? null, errorCode ?? null, occurredAt);
    await this.outbox.write(m, [
      this.outbox.ticketEvent(
        'message.delivery',
        { id: msg.ticket_id, teamId: msg.team_id, assigneeId: msg.assignee_id },
        { messageId: msg.id, status: to, from: msg.delivery_status, reason: reason ?? null, occurredAt },
      ),
    ]);
    return { status: 'applied', messageId: msg.id, deliveryStatus: to };
  }
}
