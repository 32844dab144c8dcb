import { Module } from '@nestjs/common';
import { QueueName } from '@oq/contracts';
import { DatabaseModule } from '@oq/database';
import { PlatformModule, QueueModule } from '@oq/platform';
import { AuthModule } from './auth/auth.module';
import { ConfigSchema } from './config';

@Module({
  imports: [
    PlatformModule.forRoot({ service: 'ticket-service', schema: ConfigSchema }),
    DatabaseModule,
    QueueModule.forRoot({
      produce: [
        QueueName.Inbound,
        QueueName.Delivery,
        QueueName.TicketCommands,
        QueueName.Sla,
        QueueName.OutboundEmail,
        QueueName.OutboundSocial,
        QueueName.OutboundChat,
      ],
    }),
    AuthModule,
  ],
})
export class AppModule {}
