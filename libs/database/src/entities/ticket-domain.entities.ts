import { AgentEntity, AgentTeamEntity, TeamEntity } from './agents-teams.entities';
import { ContactEntity, ContactIdentityEntity, MergeSuggestionEntity } from './contacts.entities';
import { IdempotencyKeyEntity } from './idempotency.entities';
import { InboxEntity } from './inboxes.entities';
import { MessageEntity, MessageOriginalEntity, ParkedDeliveryReportEntity } from './messages.entities';
import { DeadLetterEntity, OutboxEntity } from './outbox.entities';
import { SlaPolicyEntity, SlaScheduleEntity, TicketSlaEntity, TicketSlaEventEntity } from './sla.entities';
import {
  CategoryEntity,
  ConversationEntity,
  TicketAuditEntity,
  TicketEntity,
  TicketParticipantEntity,
} from './tickets.entities';

export * from './agents-teams.entities';
export * from './contacts.entities';
export * from './idempotency.entities';
export * from './inboxes.entities';
export * from './messages.entities';
export * from './outbox.entities';
export * from './sla.entities';
export * from './tickets.entities';

/** The tables of migration TicketDomain1764000000100 (plus message_originals, which extends messages). */
export const TICKET_DOMAIN_ENTITIES = [
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
  ParkedDeliveryReportEntity,
  TicketAuditEntity,
  SlaScheduleEntity,
  SlaPolicyEntity,
  TicketSlaEntity,
  TicketSlaEventEntity,
  OutboxEntity,
  DeadLetterEntity,
  MessageOriginalEntity,
  IdempotencyKeyEntity,
];
