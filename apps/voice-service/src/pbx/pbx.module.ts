import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { PbxController } from './pbx.controller';

@Module({ imports: [CallsModule], controllers: [PbxController] })
export class PbxModule {}
