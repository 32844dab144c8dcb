import 'reflect-metadata';
import { runService } from '@oq/platform';
import { AppModule } from './app.module';
import { Config } from './config';

void runService(AppModule, { title: 'OneQueue ticket service', port: (c) => (c as Config).TICKET_SERVICE_PORT });
