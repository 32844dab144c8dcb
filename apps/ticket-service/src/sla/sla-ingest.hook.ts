import { Injectable, OnModuleInit } from '@nestjs/common';
import { IngestHooks } from '../inbound/ingest-hooks';
import { SlaClockService } from './sla-clock.service';

/** Joins every ingested message's transaction: customer messages, missed calls and reopenings move clocks. */
@Injectable()
export class SlaIngestHook implements OnModuleInit {
  constructor(
    private readonly hooks: IngestHooks,
    private readonly sla: SlaClockService,
  ) {}

  onModuleInit() {
    this.hooks.register(
      (manager, change) => this.sla.onIngest(manager, change),
      (manager, changes) => this.sla.onIngestBatch(manager, changes),
    );
  }
}
