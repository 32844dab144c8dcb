import { Module } from '@nestjs/common';
import { InboxesModule } from '../inboxes/inboxes.module';
import { MailIngestService } from '../ingest/mail-ingest.service';
import { CursorStore } from './cursor.store';
import { ImapSupervisor } from './imap-supervisor.service';

@Module({
  imports: [InboxesModule],
  providers: [CursorStore, MailIngestService, ImapSupervisor],
  exports: [ImapSupervisor, MailIngestService],
})
export class ImapModule {}
