import { BadRequestException, Injectable } from '@nestjs/common';
import { ChatHistoryPage, IdentityRef } from '@oq/contracts';
import { MessageRepository } from '@oq/database';

interface Cursor {
  at: string;
  id: string;
}

const encode = (c: Cursor) => Buffer.from(`${c.at}|${c.id}`).toString('base64url');
function decode(cursor: string): Cursor {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (!at || !id || Number.isNaN(Date.parse(at)) || !/^[0-9a-f-]{36}$/.test(id))
    throw new BadRequestException('invalid cursor');
  return { at, id };
}

/**
 * A chat customer's conversation as the customer may see it: their messages and
 * agents' replies on this chat inbox, across all their tickets. Internal notes,
 * system entries and other channels' messages are filtered in SQL
 * (MessageRepository.chatHistory), so a bug in a caller can never leak them.
 */
@Injectable()
export class ChatHistoryService {
  constructor(private readonly messages: MessageRepository) {}

  async page(
    inboxId: string,
    identities: IdentityRef[],
    cursor: string | undefined,
    limit: number,
  ): Promise<ChatHistoryPage> {
    const after = cursor ? decode(cursor) : null;
    const rows = await this.messages.chatHistory(inboxId, identities, after, limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      messages: page.map((r) => ({
        id: r.id,
        ticketId: r.ticket_id,
        direction: r.direction,
        text: r.text,
        attachments: r.attachments ?? [],
        externalId: r.direction === 'inbound' ? r.external_id : null,
        deliveryStatus: r.delivery_status,
        createdAt: new Date(r.created_at).toISOString(),
      })),
      nextCursor:
        rows.length > limit && last ? encode({ at: new Date(last.created_at).toISOString(), id: last.id }) : null,
    };
  }
}
