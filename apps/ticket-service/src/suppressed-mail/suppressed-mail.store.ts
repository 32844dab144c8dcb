import { Injectable } from '@nestjs/common';
import { InboundMessage, SuppressionReason, TextAltered, encodeOriginals, maskCardNumbers } from '@oq/contracts';
import { Db, SuppressedMailRepository } from '@oq/database';

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
  constructor(private readonly mails: SuppressedMailRepository) {}

  /** `msg` as ingest masked it (maskMessage): card numbers never reach the database. */
  async file(manager: Db, msg: InboundMessage): Promise<SuppressedOutcome> {
    const mails = this.mails.with(manager);
    const suppressed = msg.email!.suppressed!;
    const imapUid = (msg.metadata.imap as { uid?: unknown } | undefined)?.uid;
    const id = await mails.file({
      inboxId: msg.inboxId,
      externalId: msg.externalId,
      reason: suppressed.reason,
      detail: suppressed.detail,
      senderAddress: msg.sender.value,
      senderName: msg.sender.displayName?.trim() || null,
      subject: msg.subject ?? null,
      rawSha256: suppressed.raw.sha256,
      rawSize: suppressed.raw.size,
      message: storedPayload(msg),
      imapUid: typeof imapUid === 'number' && Number.isSafeInteger(imapUid) && imapUid >= 0 ? imapUid : null,
      receivedAt: msg.receivedAt,
    });
    if (id) return { status: 'suppressed', suppressedMailId: id, reason: suppressed.reason, filed: true };
    const known = await mails.findFiled(msg.inboxId, msg.externalId);
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
