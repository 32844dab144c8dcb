import { Global, Module } from '@nestjs/common';
import { AutomaticEmailService } from './automatic-email.service';
import { OutboxRelay } from './outbox.relay';
import { OutboxService, TicketEventBus } from './outbox.service';

/**
 * Global so every feature module writes through the same OutboxService and the
 * realtime gateway subscribes to the one TicketEventBus the relay publishes to.
 */
@Global()
@Module({
  providers: [OutboxService, TicketEventBus, OutboxRelay, AutomaticEmailService],
  exports: [OutboxService, TicketEventBus, OutboxRelay, AutomaticEmailService],
})
export class OutboxModule {}
