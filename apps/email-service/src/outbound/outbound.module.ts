import { Module } from '@nestjs/common';
import { InboxesModule } from '../inboxes/inboxes.module';
import { OutboundEmailService } from './outbound-email.service';
import { SmtpTransports } from './smtp-transports';

@Module({ imports: [InboxesModule], providers: [OutboundEmailService, SmtpTransports] })
export class OutboundModule {}
