import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * Offline notices owed to chat customers who left before an agent answered.
 * Tables: chat_offline_notifications.
 */
@Injectable()
export class ChatOfflineNotificationRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): ChatOfflineNotificationRepository {
    return new ChatOfflineNotificationRepository(db);
  }
}
