import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  AttachmentRef,
  CALL_TRANSCRIPT_MAX_CHARS,
  InvalidPayloadError,
  JobName,
  QueueName,
  inboundJobId,
} from '@oq/contracts';
import { BlobStore, CONFIG, LOGGER, MetricsService, QueueService, InboxDirectory, SafeFetchError } from '@oq/platform';
import { Logger } from 'pino';
import { Config } from '../config';
import { contentHash } from './call-event';
import { callLogMessage } from './call-log-message';
import { CallRow, CallStore, emissionPending, recordingPending } from './call-store.service';
import { RecordingFetcher, RecordingUnavailableError } from './recording-fetcher';

/**
 * Turns a final call into its InboundMessage on the `inbound` queue, with the
 * recording downloaded first when there is one. Runs right after the webhook
 * committed (not awaited by it: a download must not hold the provider's
 * request) and from a periodic sweep that finishes whatever a crash or a Redis
 * outage interrupted. Job ids are deterministic, so emitting twice is harmless.
 */
@Injectable()
export class CallEmitter implements OnApplicationBootstrap, OnApplicationShutdown {
  /** One run per call at a time, so a call's recording is not downloaded twice in parallel. */
  private readonly running = new Map<string, Promise<void>>();
  private timer?: NodeJS.Timeout;
  private sweeping = false;
  private stopped = false;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly store: CallStore,
    private readonly queues: QueueService,
    private readonly inboxes: InboxDirectory,
    private readonly recordings: RecordingFetcher,
    private readonly metrics: MetricsService,
    private readonly blobs: BlobStore,
  ) {}

  onApplicationBootstrap() {
    this.timer = setInterval(() => void this.sweep(), this.config.VOICE_SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown() {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.running.values()]);
  }

  /** Starts (or chains after the running one) the work owed for this call; never throws. */
  kick(inboxId: string, callId: string, known?: CallRow): Promise<void> {
    const key = `${inboxId}|${callId}`;
    const previous = this.running.get(key);
    // After a run for the same call, the row we were handed may be stale: re-read it.
    const start = previous ? undefined : known;
    const next = (previous ?? Promise.resolve())
      .then(() => this.process(inboxId, callId, start))
      .catch((err) =>
        this.logger.warn(
          { inboxId, callId, err: (err as Error).message },
          'call log not emitted yet; the sweep retries',
        ),
      )
      .finally(() => {
        if (this.running.get(key) === next) this.running.delete(key);
      });
    this.running.set(key, next);
    return next;
  }

  async sweep(): Promise<void> {
    if (this.sweeping || this.stopped) return;
    this.sweeping = true;
    try {
      for (const { inboxId, callId } of await this.store.due(100)) await this.kick(inboxId, callId);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'call sweep failed');
    } finally {
      this.sweeping = false;
    }
  }

  /** `known`: the row as the request that just committed it left it (saves a read on the hot path). */
  private async process(inboxId: string, callId: string, known?: CallRow): Promise<void> {
    let row = known ?? (await this.store.read(inboxId, callId));
    if (!row || !row.final) return;
    if (recordingPending(row.state)) row = await this.download(row);
    if (emissionPending(row)) await this.emit(row);
  }

  private async download(row: CallRow): Promise<CallRow> {
    const url = row.state.recordingUrl!;
    const inbox = await this.inboxes.get(row.inboxId);
    try {
      const ref = await this.recordings.fetch(url, row.callId, inbox);
      return await this.store.mutate(row.inboxId, row.callId, (r) => {
        if (r.state.recordingUrl === url) r.state.recording = { ...ref, url };
      });
    } catch (err) {
      // A refused URL (internal address, not one of the inbox's recording hosts, too large…) or a
      // recording the provider no longer has will not change by retrying; a network hiccup might.
      const refused = err instanceof SafeFetchError && !err.transient;
      const permanent = refused || err instanceof RecordingUnavailableError;
      const code = err instanceof SafeFetchError ? err.code : permanent ? 'unavailable' : 'failed';
      // Never the URL: its query may carry a signature. The host and the refused address are enough.
      this.logger.warn(
        {
          inboxId: row.inboxId,
          callId: row.callId,
          code,
          host: err instanceof SafeFetchError ? err.host : undefined,
          address: err instanceof SafeFetchError ? err.address : undefined,
          err: (err as Error).message,
          permanent,
        },
        permanent ? 'recording not downloaded and not retried' : 'recording not downloaded; the call log keeps its URL',
      );
      this.metrics
        .counter('oq_voice_recording_failures_total', 'Recording downloads that failed, by reason', ['code'])
        .inc({ code });
      return this.store.mutate(row.inboxId, row.callId, (r) => {
        r.state.recordingAttempts = permanent ? Number.MAX_SAFE_INTEGER : (r.state.recordingAttempts ?? 0) + 1;
        if (permanent && r.state.recordingUrl === url)
          r.state.recordingError = { url, code, reason: (err as Error).message };
      });
    }
  }

  private async emit(row: CallRow): Promise<void> {
    const revision = row.targetRevision!;
    const sentHash = contentHash(row.state);
    // A transcript beyond what a call log carries travels whole as a file beside the cut one.
    let transcriptFile: AttachmentRef | undefined;
    if (row.state.transcript && row.state.transcript.length > CALL_TRANSCRIPT_MAX_CHARS) {
      const blob = await this.blobs.put(row.state.transcript);
      transcriptFile = {
        sha256: blob.sha256,
        size: blob.size,
        filename: 'transcript.txt',
        contentType: 'text/plain; charset=utf-8',
      };
    }
    const message = callLogMessage(row.inboxId, row.state, revision, new Date(), transcriptFile);
    try {
      await this.queues.add(QueueName.Inbound, JobName.InboundMessage, message, {
        jobId: inboundJobId(row.inboxId, row.callId, revision),
      });
    } catch (err) {
      if (!(err instanceof InvalidPayloadError)) throw err;
      // Retrying cannot make it valid: park it with ticket-service rather than sweep it forever.
      await this.queues.deadLetter(`voice|${row.inboxId}|${row.callId}|${revision}`, {
        queue: QueueName.Inbound,
        jobName: JobName.InboundMessage,
        reason: `call log of call ${row.callId} (inbox ${row.inboxId}) is not a valid message: ${err.reason}`,
        payload: { message, state: row.state },
      });
      this.logger.error({ inboxId: row.inboxId, callId: row.callId, reason: err.reason }, 'call log dead-lettered');
    }
    this.metrics.counter('oq_voice_call_logs_enqueued_total', 'Call-log revisions enqueued on inbound').inc();
    await this.store.markEmitted(row, revision, sentHash, recordingPending(row.state));
    this.logger.info({ inboxId: row.inboxId, callId: row.callId, revision }, 'call log enqueued');
  }
}
