import { Module } from '@nestjs/common';
import { QueueName } from '@oq/contracts';
import { DatabaseModule } from '@oq/database';
import { PlatformModule, QueueModule } from '@oq/platform';
import { ConfigSchema } from './config';
import { PbxModule } from './pbx/pbx.module';
import { TwilioModule } from './twilio/twilio.module';

@Module({
  imports: [
    PlatformModule.forRoot({ service: 'voice-service', schema: ConfigSchema }),
    DatabaseModule,
    QueueModule.forRoot({
      produce: [QueueName.Inbound],
      // Call events acknowledged while Postgres was down; dead-lettered if they can never be folded.
      consume: [{ queue: QueueName.VoicePending, concurrency: 4, deadLetter: true }],
    }),
    TwilioModule,
    PbxModule,
  ],
})
export class AppModule {}
