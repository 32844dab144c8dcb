import { Module } from '@nestjs/common';
import { ReconcilerService } from './reconciler.service';
import { SlaConsumer } from './sla.consumer';
import { SlaFiringService } from './sla-firing.service';
import { SlaTimersService } from './sla-timers.service';

/** SLA timers: arming from clock changes, firing under row locks, and the reconciler. */
@Module({ providers: [SlaTimersService, SlaFiringService, ReconcilerService, SlaConsumer] })
export class TimersModule {}
