import 'reflect-metadata';
import { runService } from '@oq/platform';
import { AppModule } from './app.module';
import { Config } from './config';

void runService(AppModule, { title: 'OneQueue SLA worker', port: (c) => (c as Config).SLA_WORKER_PORT });
