import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * Provider delivery reports: a message's delivery status moves forward only, and reports that arrive before their message are parked.
 * Tables: parked_delivery_reports; messages' delivery status.
 */
@Injectable()
export class DeliveryReportRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): DeliveryReportRepository {
    return new DeliveryReportRepository(db);
  }
}
