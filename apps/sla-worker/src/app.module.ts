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
      consume: [
        // Timers re-read their clocks in Postgres: an outage waits without spending attempts.
        { queue: QueueName.Sla, concurrency: (c) => (c as unknown as Config).SLA_CONCURRENCY, waitForDatabase: true },
        // Its ticket-event subscription (libs/contracts events.ts); `sla` drains the previous release's events.
        {
          queue: QueueName.SlaEvents,
          concurrency: (c) => (c as unknown as Config).SLA_CONCURRENCY,
          waitForDatabase: true,
        },
      ],
    }),
    TimersModule,
  ],
})
export class AppModule {}
