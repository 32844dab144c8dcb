import { BadRequestException, Injectable } from '@nestjs/common';
import { ChatHistoryPage, IdentityRef } from '@oq/contracts';
import { DataSource } from 'typeorm';

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
 * system entries and other channels' messages are filtered in SQL, so a bug in
 * a caller can never leak them.
 */
@Injectable()
export class ChatHistoryService {
  constructor(private readonly ds: DataSource) {}

  async page(
    inboxId: string,
    identities: IdentityRef[],
    cursor: string | undefined,
    limit: number,
  ): Promise<ChatHistoryPage> {
    const after = cursor ? decode(cursor) : null;
    const kinds = identities.map((i) => i.kind);
    const values = identities.map((i) => i.value);
    // Plain SQL: keyset pagination over (created_at, id) of the customer's tickets' messages.
    const rows: {
      id: string;
      ticket_id: string;
      direction: 'inbound' | 'outbound';
      text: string;
      attachments: unknown[];
      external_id: string | null;
      delivery_status: string | null;
      created_at: Date;
    }[] = await this.ds.query(
      `WITH ident AS (
         SELECT ci.contact_id FROM contact_identities ci
         JOIN unnest($2::text[], $3::text[]) AS q(kind, value) ON q.kind = ci.kind AND q.value = ci.value
       ),
       people AS (
         SELECT contact_id AS id FROM ident
         UNION SELECT c.merged_into_id FROM contacts c JOIN ident ON ident.contact_id = c.id WHERE c.merged_into_id IS NOT NULL
       ),
       tix AS (SELECT t.id FROM tickets t WHERE t.requester_id IN (SELECT id FROM people))
       SELECT m.id, m.ticket_id, m.direction, m.text, m.attachments, m.external_id, m.delivery_status, m.created_at
       FROM messages m
       WHERE m.ticket_id IN (SELECT id FROM tix)
         AND m.inbox_id = $1
         AND m.kind = 'message'
         AND m.direction IN ('inbound', 'outbound')
         AND ($4::timestamptz IS NULL OR (m.created_at, m.id) < ($4::timestamptz, $5::uuid))
       ORDER BY m.created_at DESC, m.id DESC
       LIMIT $6`,
      [inboxId, kinds, values, after?.at ?? null, after?.id ?? null, limit + 1],
    );
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
