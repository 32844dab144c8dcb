/** The columns every ticket read selects, and their JSON shape for the API. */
export const TICKET_COLUMNS = `t.id, t.number, t.subject, t.status, t.priority, t.type, t.category_id, t.tags, t.team_id,
  t.assignee_id, t.requester_id, t.channel, t.inbox_id, t.follow_up_of_id, t.merged_into_id, t.version,
  t.next_due_at, t.first_reply_at, t.solved_at, t.closed_at, t.last_customer_message_at, t.last_agent_reply_at,
  t.customer_message_count, t.agent_reply_count, t.created_at, t.updated_at`;

export interface TicketRow {
  id: string;
  number: string | number;
  subject: string;
  status: string;
  priority: string;
  type: string;
  category_id: string | null;
  tags: string[];
  team_id: string;
  assignee_id: string | null;
  requester_id: string;
  channel: string;
  inbox_id: string | null;
  follow_up_of_id: string | null;
  merged_into_id: string | null;
  version: number;
  next_due_at: Date | null;
  first_reply_at: Date | null;
  solved_at: Date | null;
  closed_at: Date | null;
  last_customer_message_at: Date | null;
  last_agent_reply_at: Date | null;
  customer_message_count: number;
  agent_reply_count: number;
  created_at: Date;
  updated_at: Date;
}

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

export const MESSAGE_COLUMNS = `m.id, m.ticket_id, m.inbox_id, m.channel, m.direction, m.kind, m.author_agent_id,
  m.author_contact_id, m.to_identity_id, m.external_id, m.revision, m.subject, m.text, m.html, m.attachments,
  m.metadata, m.email_message_id, m.auto_submitted, m.delivery_status, m.delivery_reason, m.delivery_error_code,
  m.source_time, m.created_at, m.updated_at, m.sender_name, m.sender_address, m.sender_header`;

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
