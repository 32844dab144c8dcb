import 'reflect-metadata';
import { runService } from '@oq/platform';
import { AppModule } from './app.module';
import { Config } from './config';

void runService(AppModule, { title: 'OneQueue social service', port: (c) => (c as Config).SOCIAL_SERVICE_PORT });
