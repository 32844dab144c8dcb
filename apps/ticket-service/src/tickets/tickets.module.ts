import { Module } from '@nestjs/common';
import { InboundModule } from '../inbound/inbound.module';
import { TicketsController } from './tickets.controller';
import { TicketsService } from './tickets.service';

@Module({
  // InboundModule owns the contact resolver (find-or-create by identity) this shares with ingest.
  imports: [InboundModule],
  controllers: [TicketsController],
  providers: [TicketsService],
  exports: [TicketsService],
})
export class TicketsModule {}
