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
import { BlobEntity } from './blob.entity';
import { ChatOfflineNotificationEntity, ChatVisitorEntity } from './chat.entities';
import { EmailImapCursorEntity, SuppressedMailEntity } from './email.entities';
import { TICKET_DOMAIN_ENTITIES } from './ticket-domain.entities';
import { AppliedTicketCommandEntity } from './tickets.entities';
import { VoiceCallEntity } from './voice.entities';

export { BlobEntity };
export * from './chat.entities';
export * from './email.entities';
export * from './outside-entities';
export * from './ticket-domain.entities';
export * from './voice.entities';

/** Every entity (createDataSource registers these). */
export const ENTITIES = [
  BlobEntity,
  ...TICKET_DOMAIN_ENTITIES,
  AppliedTicketCommandEntity,
  ChatVisitorEntity,
  ChatOfflineNotificationEntity,
  EmailImapCursorEntity,
  SuppressedMailEntity,
  VoiceCallEntity,
];
