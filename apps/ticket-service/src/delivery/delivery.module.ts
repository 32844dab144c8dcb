import { Module } from '@nestjs/common';
import { DeadLetterService } from '../dead-letters/dead-letter.service';
import { DeliveryConsumer } from './delivery.consumer';

/** Consumes the `delivery` queue: DeliveryReports move outbound messages' status forward. */
@Module({ providers: [DeliveryConsumer, DeadLetterService], exports: [DeliveryConsumer] })
export class DeliveryModule {}
