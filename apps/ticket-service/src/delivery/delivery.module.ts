import { Module } from '@nestjs/common';
import { DeadLettersModule } from '../dead-letters/dead-letters.module';
import { DeliveryConsumer } from './delivery.consumer';

/** Consumes the `delivery` queue: DeliveryReports move outbound messages' status forward. */
@Module({ imports: [DeadLettersModule], providers: [DeliveryConsumer], exports: [DeliveryConsumer] })
export class DeliveryModule {}
