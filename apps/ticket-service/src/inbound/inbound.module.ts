import { Module } from '@nestjs/common';
import { ContactMergeService } from '../contacts/contact-merge.service';
import { ContactResolverService } from '../contacts/contact-resolver.service';
import { DeadLetterConsumer } from '../dead-letters/dead-letter.consumer';
import { DeadLetterService } from '../dead-letters/dead-letter.service';
import { TicketRouterService } from '../threading/ticket-router.service';
import { InboundConsumer } from './inbound.consumer';
import { InboundProcessor } from './inbound.processor';
import { IngestHooks } from './ingest-hooks';

/**
 * Ingest of the `inbound` queue. Exports the ingest hook registry (SLA clocks
 * join the message's transaction through it) and the dead-letter service.
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
  ],
  exports: [IngestHooks, DeadLetterService, ContactResolverService, ContactMergeService],
})
export class InboundModule {}
