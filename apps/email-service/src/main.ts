import 'reflect-metadata';
import { runService } from '@oq/platform';
import { AppModule } from './app.module';
import { Config } from './config';

void runService(AppModule, { title: 'OneQueue email service', port: (c) => (c as Config).EMAIL_SERVICE_PORT });
