import { Module } from '@nestjs/common';
import { ContactsModule } from '../contacts/contacts.module';
import { TicketsController } from './tickets.controller';
import { TicketsService } from './tickets.service';

@Module({
  // The contact resolver (find-or-create by identity) is ContactsModule's, shared with ingest.
  imports: [ContactsModule],
  controllers: [TicketsController],
  providers: [TicketsService],
  exports: [TicketsService],
})
export class TicketsModule {}
