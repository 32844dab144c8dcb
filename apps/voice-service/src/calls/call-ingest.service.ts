import { createHash } from 'node:crypto';
import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { JobName, QueueName, VoiceCallEventJob, voiceCallEventJobId } from '@oq/contracts';
import { JobHandler, LOGGER, QueueService } from '@oq/platform';
import { DelayedError, Job, UnrecoverableError } from 'bullmq';
import { Logger } from 'pino';
import { CallEmitter } from './call-emitter.service';
import { CallEvent, storableCallEvent } from './call-event';
import { InvalidCallRecordError } from './call-record-error';
import { ApplyOutcome, CallStore, emissionPending, recordingPending } from './call-store.service';

/** How long a pending event waits in its worker for Postgres before it goes back to delayed. */
const PENDING_WAIT_MS = 5000;
const PENDING_PROBE_MS = 1000;

/** What every telephony webhook does with a verified, normalised event. */
@Injectable()
export class CallIngest implements BeforeApplicationShutdown {
  private stopping = false;

  constructor(
    private readonly store: CallStore,
    private readonly emitter: CallEmitter,
    private readonly queues: QueueService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  beforeApplicationShutdown() {
    // Workers close after this: a pending event waiting for Postgres must not hold the shutdown.
    this.stopping = true;
  }

  /**
   * Folds the event into its call (committed before the provider hears 200), then starts the
   * emission of a final call log without making the provider wait for a recording download; the
   * sweep finishes it if this process dies. When Postgres cannot take the event it is put on
   * `voice.pending` in Redis instead and folded when Postgres is back ('pending'): Twilio retries a
   * webhook at most 5 times (once by default, on a failed connection) within 15 s, so a 5xx during
   * an outage would lose it.
   */
  async accept(inboxId: string, raw: CallEvent, payload: Buffer): Promise<ApplyOutcome | 'pending'> {
    const event = storableCallEvent(raw);
    const digest = createHash('sha256').update(event.provider).update('\0').update(payload).digest('hex');
    try {
      return await this.fold(inboxId, event, digest);
    } catch (err) {
      if (err instanceof InvalidCallRecordError) throw err;
      await this.queues.add(
        QueueName.VoicePending,
        JobName.VoiceCallEvent,
        { v: 1, inboxId, digest, receivedAt: new Date().toISOString(), event },
        { jobId: voiceCallEventJobId(inboxId, digest) },
      );
      this.logger.warn(
        { inboxId, callId: event.callId, err: (err as Error).message },
        'call event not stored (Postgres); queued on voice.pending',
      );
      return 'pending';
    }
  }

  /**
   * An acknowledged event that Postgres could not take when it arrived. While Postgres does not
   * answer the job waits (no attempt spent); once it does, a fold that still fails is retried with
   * backoff and dead-lettered after the last attempt, as is one that contradicts its call now.
   */
  @JobHandler(JobName.VoiceCallEvent)
  async foldPending(pending: VoiceCallEventJob, job: Job): Promise<{ outcome: ApplyOutcome }> {
    const deadline = Date.now() + PENDING_WAIT_MS;
    for (;;) {
      try {
        return { outcome: await this.fold(pending.inboxId, pending.event, pending.digest) };
      } catch (err) {
        if (err instanceof InvalidCallRecordError) throw new UnrecoverableError(`call event rejected: ${err.message}`);
        if (await this.store.reachable()) throw err;
        if (this.stopping || Date.now() >= deadline) {
          await job.moveToDelayed(Date.now() + PENDING_WAIT_MS, job.token);
          throw new DelayedError();
        }
        await new Promise((r) => setTimeout(r, PENDING_PROBE_MS));
      }
    }
  }

  private async fold(inboxId: string, event: CallEvent, digest: string): Promise<ApplyOutcome> {
    const { outcome, row } = await this.store.apply(inboxId, event, digest);
    this.logger.debug({ inboxId, callId: event.callId, status: event.status, outcome }, 'call event');
    if (outcome === 'stored' && row.final && (emissionPending(row) || recordingPending(row.state)))
      void this.emitter.kick(inboxId, event.callId, row);
    return outcome;
  }
}
