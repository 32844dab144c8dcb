import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { CallEmitter } from './call-emitter.service';
import { CallEvent, storableCallEvent } from './call-event';
import { CallStore, emissionPending, recordingPending } from './call-store.service';

/** What every telephony webhook does with a verified, normalised event. */
@Injectable()
export class CallIngest {
  constructor(
    private readonly store: CallStore,
    private readonly emitter: CallEmitter,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Folds the event into its call (committed before the provider hears 200),
   * then starts the emission of a final call log without making the provider
   * wait for a recording download; the sweep finishes it if this process dies.
   */
  async accept(inboxId: string, raw: CallEvent, payload: Buffer): Promise<'stored' | 'duplicate' | 'ignored'> {
    const event = storableCallEvent(raw);
    const digest = createHash('sha256').update(event.provider).update('\0').update(payload).digest('hex');
    const { outcome, row } = await this.store.apply(inboxId, event, digest);
    this.logger.debug({ inboxId, callId: event.callId, status: event.status, outcome }, 'call event');
    if (outcome === 'stored' && row.final && (emissionPending(row) || recordingPending(row.state)))
      void this.emitter.kick(inboxId, event.callId, row);
    return outcome;
  }
}
