import { Module } from '@nestjs/common';
import { InboxDirectoryModule } from '@oq/platform';
import { SocialInboxes } from './social-inboxes.service';

@Module({
  imports: [InboxDirectoryModule.forChannels(['whatsapp', 'messenger', 'instagram', 'telegram'])],
  providers: [SocialInboxes],
  exports: [SocialInboxes],
})
export class InboxesModule {}
