import { Module } from '@nestjs/common';
import { InboundModule } from '../inbound/inbound.module';
import { SuppressedMailController } from './suppressed-mail.controller';
import { SuppressedMailService } from './suppressed-mail.service';

/** The admin API over suppressed mail (SuppressedMailStore, which files it, lives with ingest). */
@Module({ imports: [InboundModule], controllers: [SuppressedMailController], providers: [SuppressedMailService] })
export class SuppressedMailApiModule {}
