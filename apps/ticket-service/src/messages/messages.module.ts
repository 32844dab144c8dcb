import { Module } from '@nestjs/common';
import { AttachmentsModule } from '../attachments/attachments.module';
import { TicketsModule } from '../tickets/tickets.module';
import { MessagesController } from './messages.controller';
import { RepliesService } from './replies.service';

@Module({
  imports: [TicketsModule, AttachmentsModule],
  controllers: [MessagesController],
  providers: [RepliesService],
})
export class MessagesModule {}
