import { Module } from '@nestjs/common';
import { QueueName } from '@oq/contracts';
import { DatabaseModule } from '@oq/database';
import { PlatformModule, QueueModule } from '@oq/platform';
import { Config, ConfigSchema } from './config';
import { TimersModule } from './timers/timers.module';

@Module({
  imports: [
    PlatformModule.forRoot({ service: 'sla-worker', schema: ConfigSchema }),
    DatabaseModule,
    QueueModule.forRoot({
      produce: [QueueName.Sla, QueueName.TicketCommands],
      consume: [{ queue: QueueName.Sla, concurrency: (c) => (c as unknown as Config).SLA_CONCURRENCY }],
    }),
    TimersModule,
  ],
})
export class AppModule {}
