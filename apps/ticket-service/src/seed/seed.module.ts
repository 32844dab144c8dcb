import { Module } from '@nestjs/common';
import { InboxesModule } from '../inboxes/inboxes.module';
import { SeedService } from './seed.service';

@Module({ imports: [InboxesModule], providers: [SeedService] })
export class SeedModule {}
