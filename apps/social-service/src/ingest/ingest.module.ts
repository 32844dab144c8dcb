import { Module } from '@nestjs/common';
import { InboxesModule } from '../inboxes/inboxes.module';
import { ProvidersModule } from '../providers/providers.module';
import { SocialRawWorker } from './social-raw.worker';

@Module({ imports: [InboxesModule, ProvidersModule], providers: [SocialRawWorker] })
export class IngestModule {}
