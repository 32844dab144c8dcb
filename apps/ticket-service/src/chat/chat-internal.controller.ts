import { BadRequestException, Controller, Get, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiExcludeController } from '@nestjs/swagger';
import { ChatHistoryPage, IdentityKind, IdentityRef } from '@oq/contracts';
import { ServiceTokenGuard } from '@oq/platform';
import { z } from 'zod';
import { ChatHistoryService } from './chat-history.service';

const CHAT_IDENTITY_KINDS = ['app_user', 'visitor'] as const;

const HistoryQuery = z.object({
  inboxId: z.uuid(),
  identity: z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : [v]))
    .pipe(z.array(z.string().min(3).max(400)).min(1).max(25)),
  cursor: z.string().max(300).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

function parseIdentity(s: string): IdentityRef {
  const i = s.indexOf(':');
  const kind = IdentityKind.safeParse(s.slice(0, i));
  const value = s.slice(i + 1);
  if (i < 1 || !kind.success || !(CHAT_IDENTITY_KINDS as readonly string[]).includes(kind.data) || !value)
    throw new BadRequestException(`identity must be app_user:<id> or visitor:<id>, got "${s.slice(0, 50)}"`);
  return { kind: kind.data, value };
}

/** Internal API for chat-service (x-service-token): a customer's public chat history. */
@ApiExcludeController()
@UseGuards(ServiceTokenGuard)
@Controller('internal/chat')
export class ChatInternalController {
  constructor(private readonly history: ChatHistoryService) {}

  @Get('history')
  async getHistory(@Req() req: FastifyRequest): Promise<ChatHistoryPage> {
    // Read from the raw query: `identity` repeats, and the internal API is not in the OpenAPI document.
    const q = HistoryQuery.safeParse(req.query);
    if (!q.success)
      throw new BadRequestException(q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    return this.history.page(q.data.inboxId, q.data.identity.map(parseIdentity), q.data.cursor, q.data.limit);
  }
}
