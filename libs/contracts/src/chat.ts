import { z } from 'zod';
import { IdentityRef, IsoDateTime, Uuid } from './common';

/**
 * Typing indicators are ephemeral: they travel on Redis pub/sub, never on a
 * queue (a late typing event is worse than none).
 *
 * chat-service publishes customers' typing on CHAT_CUSTOMER_TYPING_CHANNEL for
 * ticket-service's agent realtime gateway; ticket-service publishes agents'
 * typing on CHAT_AGENT_TYPING_CHANNEL and every chat-service replica emits it
 * to the customer sockets it holds.
 */
export const CHAT_CUSTOMER_TYPING_CHANNEL = 'oq:chat:customer-typing';
export const CHAT_AGENT_TYPING_CHANNEL = 'oq:chat:agent-typing';

export const ChatCustomerTyping = z.object({
  inboxId: Uuid,
  identity: IdentityRef,
  typing: z.boolean(),
  at: IsoDateTime,
});
export type ChatCustomerTyping = z.infer<typeof ChatCustomerTyping>;

export const ChatAgentTyping = z.object({
  inboxId: Uuid,
  to: IdentityRef,
  typing: z.boolean(),
  agentName: z.string().max(200).optional(),
});
export type ChatAgentTyping = z.infer<typeof ChatAgentTyping>;

/**
 * ticket-service internal API for a chat customer's history (x-service-token):
 *   GET /internal/chat/history?inboxId=…&identity=kind:value[&identity=…]&cursor=…&limit=…
 * Public messages only (customer messages and agent replies; never internal
 * notes or system entries), newest first, keyset-paginated.
 */
export const ChatHistoryMessage = z.object({
  id: Uuid,
  ticketId: Uuid,
  direction: z.enum(['inbound', 'outbound']),
  text: z.string(),
  attachments: z.array(z.unknown()).default([]),
  /** The customer's client message id (inbound only), so a client can match its own optimistic entries. */
  externalId: z.string().nullable(),
  deliveryStatus: z.string().nullable(),
  createdAt: IsoDateTime,
});
export type ChatHistoryMessage = z.infer<typeof ChatHistoryMessage>;

export const ChatHistoryPage = z.object({
  messages: z.array(ChatHistoryMessage),
  nextCursor: z.string().nullable(),
});
export type ChatHistoryPage = z.infer<typeof ChatHistoryPage>;
