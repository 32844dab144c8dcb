import { Module } from '@nestjs/common';
import { InboxDirectoryModule } from '@oq/platform';
import { CallEmitter } from './call-emitter.service';
import { CallIngest } from './call-ingest.service';
import { CallStore } from './call-store.service';
import { RecordingFetcher } from './recording-fetcher';

const VoiceInboxes = InboxDirectoryModule.forChannels(['voice']);

@Module({
  imports: [VoiceInboxes],
  providers: [CallStore, CallEmitter, CallIngest, RecordingFetcher],
  exports: [CallIngest, VoiceInboxes],
})
export class CallsModule {}
