import { Module } from '@nestjs/common';
import { InboxesModule } from '../inboxes/inboxes.module';
import { InternalInboxesController } from './internal-inboxes.controller';

@Module({ imports: [InboxesModule], controllers: [InternalInboxesController] })
export class InternalModule {}
