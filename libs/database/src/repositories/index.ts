import { TicketRepository } from './tickets.repository';
import { MessageRepository } from './messages.repository';
import { ConversationRepository } from './conversations.repository';
import { IngestRepository } from './ingest.repository';
import { IngestBatchRepository } from './ingest-batch.repository';
import { DeliveryReportRepository } from './delivery-reports.repository';
import { ContactRepository } from './contacts.repository';
import { AgentRepository } from './agents.repository';
import { TeamRepository } from './teams.repository';
import { InboxRepository } from './inboxes.repository';
import { ChatVisitorRepository } from './chat-visitors.repository';
import { ChatOfflineNotificationRepository } from './chat-offline-notifications.repository';
import { IdempotencyRepository } from './idempotency.repository';
import { SlaRepository } from './sla.repository';
import { OutboxRepository } from './outbox.repository';
import { DeadLetterRepository } from './dead-letters.repository';
import { BlobRepository } from './blobs.repository';
import { SuppressedMailRepository } from './suppressed-mail.repository';
import { VoiceCallRepository } from './voice-calls.repository';
import { ImapCursorRepository } from './imap-cursors.repository';

export * from './tickets.repository';
export * from './messages.repository';
export * from './conversations.repository';
export * from './ingest.repository';
export * from './ingest-batch.repository';
export * from './delivery-reports.repository';
export * from './contacts.repository';
export * from './agents.repository';
export * from './teams.repository';
export * from './inboxes.repository';
export * from './chat-visitors.repository';
export * from './chat-offline-notifications.repository';
export * from './idempotency.repository';
export * from './sla.repository';
export * from './outbox.repository';
export * from './dead-letters.repository';
export * from './blobs.repository';
export * from './suppressed-mail.repository';
export * from './voice-calls.repository';
export * from './imap-cursors.repository';
export * from './visibility';
import { VisibilityRepository } from './visibility';

/** Every repository, provided (and exported) by DatabaseModule. */
export const REPOSITORIES = [
  VisibilityRepository,
  TicketRepository,
  MessageRepository,
  ConversationRepository,
  IngestRepository,
  IngestBatchRepository,
  DeliveryReportRepository,
  ContactRepository,
  AgentRepository,
  TeamRepository,
  InboxRepository,
  ChatVisitorRepository,
  ChatOfflineNotificationRepository,
  IdempotencyRepository,
  SlaRepository,
  OutboxRepository,
  DeadLetterRepository,
  BlobRepository,
  SuppressedMailRepository,
  VoiceCallRepository,
  ImapCursorRepository,
];
