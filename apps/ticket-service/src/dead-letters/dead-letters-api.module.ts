import { Module } from '@nestjs/common';
import { InboundModule } from '../inbound/inbound.module';
import { DeadLettersController } from './dead-letters.controller';

/** The admin API over the dead letters ingest records (DeadLetterService lives with ingest). */
@Module({ imports: [InboundModule], controllers: [DeadLettersController] })
export class DeadLettersApiModule {}
