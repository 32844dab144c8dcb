import { Module } from '@nestjs/common';
import { ContactMergeService } from './contact-merge.service';
import { ContactResolverService } from './contact-resolver.service';

/**
 * Contacts' own services: find-or-create by identity (ingest and tickets created by hand share
 * it) and merge (ingest links identities, agents merge by hand). Their repositories come from
 * the global DatabaseModule, the outbox from the global OutboxModule.
 */
@Module({
  providers: [ContactResolverService, ContactMergeService],
  exports: [ContactResolverService, ContactMergeService],
})
export class ContactsModule {}
