import { Module } from '@nestjs/common';
import { ContactMergeService } from '../contacts/contact-merge.service';
import { ContactResolverService } from '../contacts/contact-resolver.service';
import { TicketsController } from './tickets.controller';
import { TicketsService } from './tickets.service';

@Module({
  controllers: [TicketsController],
  providers: [TicketsService, ContactResolverService, ContactMergeService],
  exports: [TicketsService],
})
export class TicketsModule {}
