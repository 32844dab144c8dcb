import { Module } from '@nestjs/common';
import { ContactMergeService } from './contact-merge.service';
import { ContactsController } from './contacts.controller';
import { ContactsService } from './contacts.service';

/** The agent-facing contacts API (search, profile, merge by hand). */
@Module({ controllers: [ContactsController], providers: [ContactsService, ContactMergeService] })
export class ContactsApiModule {}
