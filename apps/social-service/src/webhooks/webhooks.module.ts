import { Module } from '@nestjs/common';
import { InboxesModule } from '../inboxes/inboxes.module';
import { WebhooksController } from './webhooks.controller';

@Module({ imports: [InboxesModule], controllers: [WebhooksController] })
export class WebhooksModule {}
