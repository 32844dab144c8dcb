import { Module } from '@nestjs/common';
import { InboxDirectoryModule } from '@oq/platform';
import { InboxDirectory } from './inbox-directory.service';

@Module({
  imports: [InboxDirectoryModule.forChannels(['email'])],
  providers: [InboxDirectory],
  exports: [InboxDirectory],
})
export class InboxesModule {}
