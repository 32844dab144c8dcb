import { Module } from '@nestjs/common';
import { GraphClient } from './graph-client';
import { TelegramClient } from './telegram-client';

@Module({ providers: [GraphClient, TelegramClient], exports: [GraphClient, TelegramClient] })
export class ProvidersModule {}
