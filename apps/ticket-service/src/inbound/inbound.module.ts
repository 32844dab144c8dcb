import { Module } from '@nestjs/common';
import { ContactMergeService } from '../contacts/contact-merge.service';
import { ContactResolverService } from '../contacts/contact-resolver.service';
import { DeadLetterConsumer } from '../dead-letters/dead-letter.consumer';
import { DeadLetterService } from '../dead-letters/dead-letter.service';
import { SuppressedMailStore } from '../suppressed-mail/suppressed-mail.store';
import { TicketRouterService } from '../threading/ticket-router.service';
import { InboundConsumer } from './inbound.consumer';
import { InboundProcessor } from './inbound.processor';
import { IngestHooks } from './ingest-hooks';

/**
 * Ingest of the `inbound` queue. Exports the ingest hook registry (SLA clocks
 * join the message's transaction through it), the dead-letter service, and the
 * consumer itself (a released suppressed mail is ingested through it).
 */
@Module({
  providers: [
    InboundConsumer,
    InboundProcessor,
    IngestHooks,
    TicketRouterService,
    ContactResolverService,
    ContactMergeService,
    DeadLetterService,
    DeadLetterConsumer,
    SuppressedMailStore,
  ],
  exports: [IngestHooks, DeadLetterService, ContactResolverService, ContactMergeService, InboundConsumer],
})
export class InboundModule {}
