import type { TicketRow } from '@oq/database';

export type TicketView = ReturnType<typeof toTicketView>;

export function toTicketView(r: TicketRow) {
  return {
    id: r.id,
    number: Number(r.number),
    subject: r.subject,
    status: r.status,
    priority: r.priority,
    type: r.type,
    categoryId: r.category_id,
    tags: r.tags,
    teamId: r.team_id,
    assigneeId: r.assignee_id,
    requesterId: r.requester_id,
    channel: r.channel,
    inboxId: r.inbox_id,
    followUpOfId: r.follow_up_of_id,
    mergedIntoId: r.merged_into_id,
    version: r.version,
    nextDueAt: r.next_due_at,
    firstReplyAt: r.first_reply_at,
    solvedAt: r.solved_at,
    closedAt: r.closed_at,
    lastCustomerMessageAt: r.last_customer_message_at,
    lastAgentReplyAt: r.last_agent_reply_at,
    customerMessageCount: r.customer_message_count,
    agentReplyCount: r.agent_reply_count,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function toMessageView(r: Record<string, unknown>) {
  return {
    id: r.id,
    ticketId: r.ticket_id,
    inboxId: r.inbox_id,
    channel: r.channel,
    direction: r.direction,
    kind: r.kind,
    authorAgentId: r.author_agent_id,
    authorContactId: r.author_contact_id,
    toIdentityId: r.to_identity_id,
    externalId: r.external_id,
    revision: r.revision,
    subject: r.subject,
    text: r.text,
    html: r.html,
    attachments: r.attachments,
    metadata: r.metadata,
    emailMessageId: r.email_message_id,
    autoSubmitted: r.auto_submitted,
    deliveryStatus: r.delivery_status,
    deliveryReason: r.delivery_reason,
    deliveryErrorCode: r.delivery_error_code,
    // While a send is being retried (it stays `queued`), and after: how many tries it took.
    deliveryRetry: (r.metadata as { retry?: unknown } | null)?.retry ?? null,
    // The name and address this message came with (its contact's name may be another); null for
    // agents' messages and for messages stored before senders were kept.
    sender:
      r.sender_address === null || r.sender_address === undefined
        ? null
        : { name: r.sender_name ?? null, address: r.sender_address },
    // Email: which header gave the address (`none`: no header did, and nobody can be replied to).
    senderHeader: r.sender_header ?? null,
    senderUnknown: r.sender_header === 'none',
    sourceTime: r.source_time,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Opaque keyset cursors: the sort key's values as Postgres printed them (microseconds survive). */
export function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string, arity: number): string[] | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === arity && v.every((x) => typeof x === 'string')) return v;
  } catch {
    /* fall through: a malformed cursor is a 400 */
  }
  return null;
}
