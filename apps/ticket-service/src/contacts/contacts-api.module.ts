import { Module } from '@nestjs/common';
import { ContactsController } from './contacts.controller';
import { ContactsModule } from './contacts.module';
import { ContactsService } from './contacts.service';

/** The agent-facing contacts API (search, profile, merge by hand through ContactsModule's ContactMergeService). */
@Module({ imports: [ContactsModule], controllers: [ContactsController], providers: [ContactsService] })
export class ContactsApiModule {}
