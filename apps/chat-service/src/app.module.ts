import { Module } from '@nestjs/common';
import { QueueName } from '@oq/contracts';
import { DatabaseModule } from '@oq/database';
import { InboxDirectoryModule, PlatformModule, QueueModule } from '@oq/platform';
import { AvailabilityService } from './availability/availability.service';
import { Config, ConfigSchema } from './config';
import { OutboundChatHandler } from './delivery/outbound-chat.handler';
import { ChatGateway } from './gateway/chat.gateway';
import { RateLimiter } from './gateway/rate-limiter.service';
import { ChatController } from './history/chat.controller';
import { HistoryService } from './history/history.service';
import { CustomerAuthService } from './identity/customer-auth.service';
import { ChatInboxes } from './inboxes/inbox-directory.service';
import { AttachmentService } from './uploads/attachment.service';
import { WidgetController } from './widget/widget.controller';

@Module({
  imports: [
    PlatformModule.forRoot({ service: 'chat-service', schema: ConfigSchema }),
    DatabaseModule,
    InboxDirectoryModule.forChannels(['chat']),
    QueueModule.forRoot({
      produce: [QueueName.Inbound, QueueName.Delivery],
      // Pushing a reply is mostly waiting for the client's ack: high concurrency, little CPU.
      consume: [
        { queue: QueueName.OutboundChat, concurrency: (c) => (c as unknown as Config).OUTBOUND_CHAT_CONCURRENCY },
      ],
    }),
  ],
  controllers: [ChatController, WidgetController],
  providers: [
    ChatInboxes,
    CustomerAuthService,
    RateLimiter,
    AvailabilityService,
    AttachmentService,
    HistoryService,
    ChatGateway,
    OutboundChatHandler,
  ],
})
export class AppModule {}
