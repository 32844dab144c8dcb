import { Module } from '@nestjs/common';
import { ContactsModule } from '../contacts/contacts.module';
import { DeadLettersModule } from '../dead-letters/dead-letters.module';
import { SuppressedMailStore } from '../suppressed-mail/suppressed-mail.store';
import { TicketRouterService } from '../threading/ticket-router.service';
import { InboundConsumer } from './inbound.consumer';
import { SetBasedIngest } from './set-based-ingest';
import { InboundProcessor } from './inbound.processor';
import { IngestHooks } from './ingest-hooks';

/**
 * Ingest of the `inbound` queue. Exports the ingest hook registry (SLA clocks
 * join the message's transaction through it) and the consumer itself (a
 * released suppressed mail is ingested through it). Contacts and dead letters
 * are their own modules' services.
 */
@Module({
  imports: [ContactsModule, DeadLettersModule],
  providers: [InboundConsumer, InboundProcessor, SetBasedIngest, IngestHooks, TicketRouterService, SuppressedMailStore],
  exports: [IngestHooks, InboundConsumer],
})
export class InboundModule {}
