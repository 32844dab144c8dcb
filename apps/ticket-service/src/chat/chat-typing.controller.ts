import { Body, Controller, HttpCode, Inject, NotFoundException, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CHAT_AGENT_TYPING_CHANNEL, ChatAgentTyping } from '@oq/contracts';
import { ConversationRepository } from '@oq/database';
import {
  ApiErrors,
  ApiNoContent,
  ApiUuid,
  ApiZodBody,
  ApiZodParam,
  IdParam,
  Parsed,
  REDIS,
  ZodValidationPipe,
} from '@oq/platform';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { AgentAuth, CurrentAgent } from '../auth/agent-auth.guard';
import { AuthenticatedAgent } from '../auth/authenticated-agent';
import { assertTicketVisible } from '../permissions/ticket-visibility';

const TypingBody = z.object({ typing: z.boolean() }).strict();

/**
 * An agent's typing indicator for a chat ticket's customer. Ephemeral: published
 * on Redis pub/sub; every chat-service replica emits it to the customer sockets it holds.
 */
@ApiTags('tickets')
@AgentAuth()
@Controller('v1/tickets/:id/typing')
export class ChatTypingController {
  constructor(
    private readonly ds: DataSource,
    private readonly conversations: ConversationRepository,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  @Post()
  @HttpCode(204)
  @ApiOperation({ summary: 'Show (or stop showing) "agent is typing" to the chat customer of this ticket' })
  @ApiZodParam('id', ApiUuid, 'The ticket id')
  @ApiZodBody(TypingBody)
  @ApiNoContent('Sent to the customer sockets of the ticket')
  @ApiErrors({
    400: 'Malformed JSON, or a body other than { typing: boolean }',
    404: 'No such ticket (or a malformed id), not visible to the caller, or it has no chat conversation',
  })
  async typing(
    @CurrentAgent() agent: AuthenticatedAgent,
    @Param('id', IdParam) ticketId: string,
    @Body(new ZodValidationPipe(TypingBody)) body: Parsed<typeof TypingBody>,
  ): Promise<void> {
    await assertTicketVisible(this.ds, agent, ticketId);
    const rows = await this.conversations.chatRecipients(ticketId, agent.id);
    if (!rows.length) throw new NotFoundException('this ticket has no chat conversation');
    for (const r of rows) {
      const event: ChatAgentTyping = {
        inboxId: r.inbox_id,
        to: { kind: r.kind, value: r.value },
        typing: body.typing,
        agentName: r.name,
      };
      await this.redis.publish(CHAT_AGENT_TYPING_CHANNEL, JSON.stringify(event));
    }
  }
}
