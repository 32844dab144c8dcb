/**
 * The TypeORM entities: one per table, true to the schema the migrations build (the migrations are the
 * truth; nothing queries through entities today, all data access is raw SQL). schema-drift.spec.ts
 * checks them against a migrated database: TypeORM's schema diff must be empty, every table must have
 * an entity, and names, constraint columns, CHECK expressions and index definitions must match pg_catalog.
 * Constraint and index names are the migrations' (Postgres's `<table>_<column>_fkey/_key/_check`, `_pkey`),
 * declared through primaryKeyConstraintName, foreignKeyConstraintName, @Unique, @Check and @Index.
 *
 * `@Index('name', { synchronize: false })` marks an index a migration creates that TypeORM cannot express
 * (an expression key, an operator class, a DESC key): declared by name only, so the schema diff neither
 * drops nor creates it; the spec checks that it exists and that no index goes undeclared. What no entity
 * can declare at all (trigger, function, sequence) is listed in SCHEMA_OUTSIDE_ENTITIES.
 *
 * A schema change is a new migration plus the matching entity change in the same commit.
 */
import { AgentEntity, AgentTeamEntity, TeamEntity } from './agents-teams.entities';
import { BlobEntity } from './blob.entity';
import { ChatOfflineNotificationEntity, ChatVisitorEntity } from './chat.entities';
import { ContactEntity, ContactIdentityEntity, MergeSuggestionEntity } from './contacts.entities';
import { EmailImapCursorEntity, SuppressedMailEntity } from './email.entities';
import { IdempotencyKeyEntity } from './idempotency.entities';
import { InboxEntity } from './inboxes.entities';
import { MessageEntity, MessageOriginalEntity, ParkedDeliveryReportEntity } from './messages.entities';
import { DeadLetterEntity, OutboxEntity } from './outbox.entities';
import { SlaPolicyEntity, SlaScheduleEntity, TicketSlaEntity, TicketSlaEventEntity } from './sla.entities';
import {
  AppliedTicketCommandEntity,
  CategoryEntity,
  ConversationEntity,
  TicketAuditEntity,
  TicketEntity,
  TicketParticipantEntity,
} from './tickets.entities';
import { VoiceCallEntity } from './voice.entities';

export * from './agents-teams.entities';
export { BlobEntity };
export * from './chat.entities';
export * from './contacts.entities';
export * from './email.entities';
export * from './idempotency.entities';
export * from './inboxes.entities';
export * from './messages.entities';
export * from './outbox.entities';
export * from './outside-entities';
export * from './sla.entities';
export * from './tickets.entities';
export * from './voice.entities';

/** Every entity, one per table (createDataSource registers these; schema-drift.spec.ts checks them). */
export const ENTITIES = [
  TeamEntity,
  AgentEntity,
  AgentTeamEntity,
  InboxEntity,
  ContactEntity,
  ContactIdentityEntity,
  MergeSuggestionEntity,
  CategoryEntity,
  TicketEntity,
  TicketParticipantEntity,
  ConversationEntity,
  MessageEntity,
  MessageOriginalEntity,
  ParkedDeliveryReportEntity,
  TicketAuditEntity,
  AppliedTicketCommandEntity,
  SlaScheduleEntity,
  SlaPolicyEntity,
  TicketSlaEntity,
  TicketSlaEventEntity,
  OutboxEntity,
  DeadLetterEntity,
  IdempotencyKeyEntity,
  BlobEntity,
  ChatVisitorEntity,
  ChatOfflineNotificationEntity,
  EmailImapCursorEntity,
  SuppressedMailEntity,
  VoiceCallEntity,
];
