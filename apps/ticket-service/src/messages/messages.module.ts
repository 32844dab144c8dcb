import { Module } from '@nestjs/common';
import { TicketsModule } from '../tickets/tickets.module';
import { MessagesController } from './messages.controller';
import { RepliesService } from './replies.service';

@Module({
  imports: [TicketsModule],
  controllers: [MessagesController],
  providers: [RepliesService],
})
export class MessagesModule {}
