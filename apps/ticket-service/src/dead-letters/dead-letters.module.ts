import { Module } from '@nestjs/common';
import { DeadLetterConsumer } from './dead-letter.consumer';
import { DeadLetterService } from './dead-letter.service';

/**
 * The one DeadLetterService: ingest and delivery record through it, the admin API lists and
 * replays. DeadLetterConsumer (the channel services' dead letters) is provided here, once: its
 * @JobHandler is discovered from every provider, so a second copy would register twice.
 */
@Module({ providers: [DeadLetterService, DeadLetterConsumer], exports: [DeadLetterService] })
export class DeadLettersModule {}
