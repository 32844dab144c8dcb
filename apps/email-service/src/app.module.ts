import { Module } from '@nestjs/common';
import { QueueName } from '@oq/contracts';
import { DatabaseModule } from '@oq/database';
import { PlatformModule, QueueModule } from '@oq/platform';
import { Config, ConfigSchema } from './config';
import { ImapModule } from './imap/imap.module';
import { InboxesModule } from './inboxes/inboxes.module';
import { OutboundModule } from './outbound/outbound.module';

@Module({
  imports: [
    PlatformModule.forRoot({ service: 'email-service', schema: ConfigSchema }),
    DatabaseModule,
    QueueModule.forRoot({
      produce: [QueueName.Inbound, QueueName.Delivery],
      // Sends are I/O-bound (SMTP round trips over pooled connections): high concurrency is cheap.
      consume: [
        { queue: QueueName.OutboundEmail, concurrency: (c) => (c as unknown as Config).EMAIL_OUTBOUND_CONCURRENCY },
      ],
    }),
    InboxesModule,
    ImapModule,
    OutboundModule,
  ],
})
export class AppModule {}
