import { Module } from '@nestjs/common';
import { QueueName } from '@oq/contracts';
import { DatabaseModule } from '@oq/database';
import { PlatformModule, QueueModule } from '@oq/platform';
import { ConfigSchema } from './config';
import { IngestModule } from './ingest/ingest.module';
import { OutboundModule } from './outbound/outbound.module';
import { WebhooksModule } from './webhooks/webhooks.module';

const concurrency = (name: string, fallback: number) => Number(process.env[name]) || fallback;

@Module({
  imports: [
    PlatformModule.forRoot({ service: 'social-service', schema: ConfigSchema }),
    DatabaseModule,
    QueueModule.forRoot({
      produce: [QueueName.Inbound, QueueName.Delivery],
      consume: [
        { queue: QueueName.SocialRaw, concurrency: concurrency('SOCIAL_RAW_CONCURRENCY', 20), deadLetter: true },
        { queue: QueueName.OutboundSocial, concurrency: concurrency('SOCIAL_OUTBOUND_CONCURRENCY', 20) },
      ],
    }),
    WebhooksModule,
    IngestModule,
    OutboundModule,
  ],
})
export class AppModule {}
