import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * Phone calls' state as the provider reports it, until the call is logged on a ticket.
 * Tables: voice_calls.
 */
@Injectable()
export class VoiceCallRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): VoiceCallRepository {
    return new VoiceCallRepository(db);
  }
}
