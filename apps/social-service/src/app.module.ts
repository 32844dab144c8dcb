import { Module } from '@nestjs/common';
import { QueueName } from '@oq/contracts';
import { PlatformModule, QueueModule } from '@oq/platform';
import { ConfigSchema } from './config';
import { IngestModule } from './ingest/ingest.module';
import { OutboundModule } from './outbound/outbound.module';
import { WebhooksModule } from './webhooks/webhooks.module';

const concurrency = (name: string, fallback: number) => Number(process.env[name]) || fallback;

@Module({
  imports: [
    PlatformModule.forRoot({ service: 'social-service', schema: ConfigSchema }),
    // No DatabaseModule: intake needs Redis and the inbox directory only, so a Postgres outage or a
    // pending migration does not stop webhooks (and /health does not probe Postgres here).
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
