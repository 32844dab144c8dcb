import { Module } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ENV } from '@oq/platform';
import { ChatHistoryService } from './chat-history.service';
import { ChatInternalController } from './chat-internal.controller';
import { ChatTypingController } from './chat-typing.controller';
import { ChatOfflineNotifier } from './chat-offline-notifier.service';
import { CHAT_CONFIG, ChatConfigSchema } from './chat.config';

/** ticket-service's side of chat: the customer history API for chat-service and the offline email fallback. */
@Module({
  controllers: [ChatInternalController, ChatTypingController],
  providers: [
    {
      provide: CHAT_CONFIG,
      inject: [ModuleRef],
      // The platform's ENV (process.env, or a test's override) — validated here for the chat knobs.
      useFactory: (ref: ModuleRef) => ChatConfigSchema.parse(ref.get(ENV, { strict: false })),
    },
    ChatHistoryService,
    ChatOfflineNotifier,
  ],
})
export class ChatModule {}
