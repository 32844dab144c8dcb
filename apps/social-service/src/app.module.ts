import { Module } from '@nestjs/common';
import { QueueName } from '@oq/contracts';
import { DatabaseModule } from '@oq/database';
import { PlatformModule, QueueModule } from '@oq/platform';
import { ConfigSchema } from './config';

@Module({
  imports: [
    PlatformModule.forRoot({ service: 'social-service', schema: ConfigSchema }),
    DatabaseModule,
    QueueModule.forRoot({
      produce: [QueueName.SocialRaw, QueueName.Inbound, QueueName.Delivery, QueueName.OutboundSocial],
    }),
  ],
})
export class AppModule {}
