import 'reflect-metadata';
import { runService } from '@oq/platform';
import { AppModule } from './app.module';
import { Config } from './config';

void runService(AppModule, { title: 'OneQueue voice service', port: (c) => (c as Config).VOICE_SERVICE_PORT });
