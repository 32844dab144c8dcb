import { Global, Module } from '@nestjs/common';
import { OutboxRelay } from './outbox.relay';
import { OutboxService, TicketEventBus } from './outbox.service';

/**
 * Global so every feature module writes through the same OutboxService and the
 * realtime gateway subscribes to the one TicketEventBus the relay publishes to.
 */
@Global()
@Module({
  providers: [OutboxService, TicketEventBus, OutboxRelay],
  exports: [OutboxService, TicketEventBus, OutboxRelay],
})
export class OutboxModule {}
