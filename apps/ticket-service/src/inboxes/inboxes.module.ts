import { Module } from '@nestjs/common';
import { SecretBox } from '@oq/platform';
import { InboxesController } from './inboxes.controller';
import { InboxesService } from './inboxes.service';
import { secretBoxProvider } from './secret-box.provider';

@Module({
  controllers: [InboxesController],
  providers: [secretBoxProvider, InboxesService],
  exports: [InboxesService, SecretBox],
})
export class InboxesModule {}
