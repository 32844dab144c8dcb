import { Module } from '@nestjs/common';
import { EVENT_SUBSCRIPTIONS, QueueName } from '@oq/contracts';
import { DatabaseModule } from '@oq/database';
import { PlatformModule, QueueModule } from '@oq/platform';
import { AttachmentsModule } from './attachments/attachments.module';
import { AuthModule } from './auth/auth.module';
import { SeedModule } from './seed/seed.module';
import { RealtimeModule } from './realtime/realtime.module';
import { AgentsModule } from './agents/agents.module';
import { TeamsModule } from './teams/teams.module';
import { InternalModule } from './internal/internal.module';
import { InboxesModule } from './inboxes/inboxes.module';
import { ContactsApiModule } from './contacts/contacts-api.module';
import { DeadLettersApiModule } from './dead-letters/dead-letters-api.module';
import { SuppressedMailApiModule } from './suppressed-mail/suppressed-mail-api.module';
import { MessagesModule } from './messages/messages.module';
import { TicketQueueModule } from './queue/queue.module';
import { TicketsModule } from './tickets/tickets.module';
import { Config, ConfigSchema } from './config';
import { SlaModule } from './sla/sla.module';
import { DeliveryModule } from './delivery/delivery.module';
import { InboundModule } from './inbound/inbound.module';
import { ChatModule } from './chat/chat.module';
import { OutboxModule } from './outbox/outbox.module';
import { AcknowledgementsModule } from './acknowledgements/acknowledgement.hook';

@Module({
  imports: [
    PlatformModule.forRoot({ service: 'ticket-service', schema: ConfigSchema }),
    DatabaseModule,
    QueueModule.forRoot({
      produce: [
        QueueName.Inbound,
        QueueName.Delivery,
        QueueName.TicketCommands,
        // The relay still delivers rows the previous release addressed to `sla` (rolling deploy).
        QueueName.Sla,
        // The relay fans ticket events out to every subscriber's queue.
        ...EVENT_SUBSCRIPTIONS.map((s) => s.queue),
        QueueName.OutboundEmail,
        QueueName.OutboundSocial,
        QueueName.OutboundChat,
      ],
      consume: [
        // Every handler here writes Postgres: an outage waits without spending attempts.
        {
          queue: QueueName.Inbound,
          concurrency: (c) => (c as unknown as Config).INGEST_CONCURRENCY,
          waitForDatabase: true,
        },
        { queue: QueueName.Delivery, concurrency: 20, waitForDatabase: true },
        { queue: QueueName.TicketCommands, concurrency: 10, waitForDatabase: true },
      ],
    }),
    AuthModule,
    SeedModule,
    RealtimeModule,
    AgentsModule,
    TeamsModule,
    InternalModule,
    InboxesModule,
    OutboxModule,
    InboundModule,
    AcknowledgementsModule,
    DeliveryModule,
    TicketsModule,
    MessagesModule,
    TicketQueueModule,
    ContactsApiModule,
    AttachmentsModule,
    DeadLettersApiModule,
    SuppressedMailApiModule,
    ChatModule,
    SlaModule,
  ],
})
export class AppModule {}
