import { Module } from '@nestjs/common';
import { InboundModule } from '../inbound/inbound.module';
import { ContactsController } from './contacts.controller';
import { ContactsService } from './contacts.service';

/** The agent-facing contacts API (search, profile, merge by hand through ingest's ContactMergeService). */
@Module({ imports: [InboundModule], controllers: [ContactsController], providers: [ContactsService] })
export class ContactsApiModule {}
