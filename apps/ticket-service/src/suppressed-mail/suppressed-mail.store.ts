import { Injectable } from '@nestjs/common';
import { InboundMessage, SuppressionReason, TextAltered, encodeOriginals, maskCardNumbers } from '@oq/contracts';
import { EntityManager } from 'typeorm';

export interface SuppressedOutcome {
  status: 'suppressed';
  suppressedMailId: string;
  reason: SuppressionReason;
  /** False when the mail was filed already (a redelivered job): nothing was written. */
  filed: boolean;
}

/**
 * The ingest side of suppressed mail: files a message that carries `email.suppressed` instead of
 * a ticket, inside the batch's savepoint (the caller holds the sender's advisory lock and has
 * checked that the mail is on no ticket yet). No contact, identity, conversation or ticket is
 * touched. `UNIQUE (inbox_id, external_id)` keeps it to one row however often the job arrives,
 * and a row once released is left as it is.
 */
@Injectable()
export class SuppressedMailStore {
  /** `msg` as ingest masked it (maskMessage): card numbers never reach the database. */
  async file(manager: EntityManager, msg: InboundMessage): Promise<SuppressedOutcome> {
    const suppressed = msg.email!.suppressed!;
    const imapUid = (msg.metadata.imap as { uid?: unknown } | undefined)?.uid;
    const rows: { id: string }[] = await manager.query(
      `INSERT INTO suppressed_mails (inbox_id, external_id, reason, detail, sender_address, sender_name, subject,
         raw_sha256, raw_size, message, imap_uid, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12)
       ON CONFLICT (inbox_id, external_id) DO NOTHING RETURNING id`,
      [
        msg.inboxId,
        msg.externalId,
        suppressed.reason,
        suppressed.detail,
        msg.sender.value,
        msg.sender.displayName?.trim() || null,
        msg.subject ?? null,
        suppressed.raw.sha256,
        suppressed.raw.size,
        JSON.stringify(storedPayload(msg)),
        typeof imapUid === 'number' && Number.isSafeInteger(imapUid) && imapUid >= 0 ? imapUid : null,
        msg.receivedAt,
      ],
    );
    if (rows.length)
      return { status: 'suppressed', suppressedMailId: rows[0].id, reason: suppressed.reason, filed: true };
    const [known]: { id: string; reason: SuppressionReason }[] = await manager.query(
      'SELECT id, reason FROM suppressed_mails WHERE inbox_id = $1 AND external_id = $2',
      [msg.inboxId, msg.externalId],
    );
    return { status: 'suppressed', suppressedMailId: known.id, reason: known.reason, filed: false };
  }
}

/**
 * The payload kept for a release: the validated job as ingest masked it. The originals of text
 * that had to be made storable are customer text too, masked as message_originals keeps them.
 */
function storedPayload(msg: InboundMessage): InboundMessage {
  const altered = msg.metadata.textAltered as TextAltered | undefined;
  if (!altered?.original) return msg;
  const originals = Object.fromEntries(
    Object.entries(JSON.parse(altered.original) as Record<string, string>).map(([k, v]) => [k, maskCardNumbers(v)]),
  );
  return { ...msg, metadata: { ...msg.metadata, textAltered: { ...altered, original: encodeOriginals(originals) } } };
}
