import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { TwilioController } from './twilio.controller';

@Module({ imports: [CallsModule], controllers: [TwilioController] })
export class TwilioModule {}
