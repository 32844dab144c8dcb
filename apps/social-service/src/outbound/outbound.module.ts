import { Module } from '@nestjs/common';
import { InboxesModule } from '../inboxes/inboxes.module';
import { ProvidersModule } from '../providers/providers.module';
import { OutboundWorker } from './outbound.worker';
import { SocialSender } from './social-sender';

@Module({ imports: [InboxesModule, ProvidersModule], providers: [OutboundWorker, SocialSender] })
export class OutboundModule {}
