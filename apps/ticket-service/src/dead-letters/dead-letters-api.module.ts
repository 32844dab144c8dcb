import { Module } from '@nestjs/common';
import { DeadLettersController } from './dead-letters.controller';
import { DeadLettersModule } from './dead-letters.module';

/** The admin API over the dead letters ingest and delivery record (DeadLettersModule's service). */
@Module({ imports: [DeadLettersModule], controllers: [DeadLettersController] })
export class DeadLettersApiModule {}
