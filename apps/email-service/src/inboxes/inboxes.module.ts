import { Module } from '@nestjs/common';
import { InboxDirectory } from './inbox-directory.service';

@Module({ providers: [InboxDirectory], exports: [InboxDirectory] })
export class InboxesModule {}
