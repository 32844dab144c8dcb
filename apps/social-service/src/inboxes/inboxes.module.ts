import { Module } from '@nestjs/common';
import { InboxDirectoryModule } from '@oq/platform';
import { SocialInboxes } from './social-inboxes.service';

@Module({
  // Without an inbox list no webhook can be verified: /health says so (it has no Postgres to check).
  imports: [
    InboxDirectoryModule.forChannels(['whatsapp', 'messenger', 'instagram', 'telegram'], { requiredForHealth: true }),
  ],
  providers: [SocialInboxes],
  exports: [SocialInboxes],
})
export class InboxesModule {}
