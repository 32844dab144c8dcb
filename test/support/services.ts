import { Type } from '@nestjs/common';
import { AppModule as ChatService } from '../../apps/chat-service/src/app.module';
import { AppModule as EmailService } from '../../apps/email-service/src/app.module';
import { AppModule as SlaWorker } from '../../apps/sla-worker/src/app.module';
import { AppModule as SocialService } from '../../apps/social-service/src/app.module';
import { AppModule as TicketService } from '../../apps/ticket-service/src/app.module';
import { AppModule as VoiceService } from '../../apps/voice-service/src/app.module';

/** Every service's name and root module, in boot order, for specs that boot them all. */
export const SERVICES: [string, Type<unknown>][] = [
  ['ticket-service', TicketService],
  ['sla-worker', SlaWorker],
  ['email-service', EmailService],
  ['social-service', SocialService],
  ['voice-service', VoiceService],
  ['chat-service', ChatService],
];
