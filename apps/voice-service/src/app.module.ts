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
    QueueModule.forRoot({ produce: [QueueName.Inbound] }),
    TwilioModule,
    PbxModule,
  ],
})
export class AppModule {}
