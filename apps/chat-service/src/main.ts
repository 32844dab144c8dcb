import 'reflect-metadata';
import { runService } from '@oq/platform';
import { AppModule } from './app.module';
import { Config } from './config';

void runService(AppModule, { title: 'OneQueue chat service', port: (c) => (c as Config).CHAT_SERVICE_PORT });
