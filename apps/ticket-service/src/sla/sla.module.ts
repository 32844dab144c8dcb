import { Global, Module } from '@nestjs/common';
import { InboundModule } from '../inbound/inbound.module';
import { EscalationConsumer } from './escalation.consumer';
import { SlaAdminService } from './sla-admin.service';
import { SlaClockService } from './sla-clock.service';
import { SlaIngestHook } from './sla-ingest.hook';
import { SlaAdminController, TicketSlaController } from './sla.controller';

/**
 * SLA in ticket-service: the clock service (global, so ticket/reply/status code
 * calls it inside its own transactions), policies and schedules admin API, the
 * clock trail of a ticket, and the escalation commands from sla-worker.
 * Ingest reaches the clocks through InboundModule's hook registry (SlaIngestHook).
 */
@Global()
@Module({
  imports: [InboundModule],
  controllers: [SlaAdminController, TicketSlaController],
  providers: [SlaClockService, SlaAdminService, EscalationConsumer, SlaIngestHook],
  exports: [SlaClockService],
})
export class SlaModule {}
