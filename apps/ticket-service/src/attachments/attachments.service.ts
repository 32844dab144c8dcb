import { Inject, Injectable, NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { AttachmentRef } from '@oq/contracts';
import { Db, MessageRepository } from '@oq/database';
import { BlobStore, BlobTooLargeError, LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { Readable } from 'node:stream';
import { Viewer } from '../permissions/ticket-visibility';

const SHA256 = /^[0-9a-f]{64}$/;
/** A declared type we can echo back safely; anything else is served as opaque bytes. */
const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;

/**
 * Agent uploads go to the content-addressed blob store and the blobs index, which records who
 * uploaded them; a message may reference a blob only its author uploaded or can already see on a
 * ticket, and downloads are served only through a message of a ticket the caller can see.
 */
@Injectable()
export class AttachmentsService {
  constructor(
    private readonly messages: MessageRepository,
    private readonly blobs: BlobStore,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async store(uploader: Viewer, source: Readable, filename: string, declaredType: string, maxBytes: number) {
    const contentType = MIME.test(declaredType) ? declaredType.toLowerCase() : 'application/octet-stream';
    let stored;
    try {
      stored = await this.blobs.putStream(source, maxBytes);
    } catch (err) {
      if (err instanceof BlobTooLargeError)
        throw new PayloadTooLargeException(`attachment exceeds the limit of ${maxBytes} bytes`);
      throw err;
    }
    // Same bytes, same row: uploading twice is harmless, restarts the garbage collector's grace period
    // and adds the uploader (having the bytes is what lets them attach the hash).
    await this.messages.recordUpload(stored.sha256, stored.size, contentType, uploader.id);
    return { sha256: stored.sha256, size: stored.size, filename, contentType };
  }

  /**
   * The refs a reply or note by `viewer` may carry, inside its transaction: blobs the viewer
   * uploaded, or that a message of a ticket they can see already references (an inbound
   * customer file has no blobs row, only such a message). Anything else is the same 404 as an
   * unknown hash, so a hash learnt elsewhere neither attaches nor tells that it exists.
   * There is no admin exception: an admin sees every ticket, so every attached blob, but another
   * agent's upload that is on no ticket is not theirs either.
   * FOR KEY SHARE holds the blob rows until the message commits: the garbage collector skips
   * locked rows, and one it locked first is gone by the time this reads it (→ 404).
   */
  async attachable(m: Db, viewer: Viewer, refs: { sha256: string; filename?: string }[]): Promise<AttachmentRef[]> {
    if (!refs.length) return [];
    const shas = [...new Set(refs.map((r) => r.sha256))];
    const found = new Map<string, { size: number; contentType: string }>();
    const messages = this.messages.with(m);
    const uploads = await messages.lockUploads(shas, viewer.id);
    for (const u of uploads)
      if (u.mine) found.set(u.sha256.trim(), { size: Number(u.size), contentType: u.content_type });
    const rest = shas.filter((s) => !found.has(s));
    if (rest.length) {
      const seen = await messages.seenOnVisibleTickets(viewer, rest);
      for (const r of seen) found.set(r.sha256, { size: Number(r.size), contentType: r.content_type });
    }
    return refs.map((r, i) => {
      const blob = found.get(r.sha256);
      if (!blob) throw new NotFoundException(`attachments.${i}: attachment not found`);
      const filename = r.filename ?? `attachment-${r.sha256.slice(0, 8)}`;
      return { sha256: r.sha256, size: blob.size, filename, contentType: blob.contentType };
    });
  }

  /** The attachment as referenced by a message of a visible ticket; 404 in every other case. */
  async open(viewer: Viewer, sha256: string, ticketId: string): Promise<{ ref: AttachmentRef; stream: Readable }> {
    if (!SHA256.test(sha256)) throw new NotFoundException('attachment not found');
    const ref = await this.messages.attachmentOnVisibleTicket(viewer, ticketId, sha256);
    if (!ref) throw new NotFoundException('attachment not found');
    if (!(await this.blobs.exists(sha256))) {
      this.logger.error({ sha256, ticketId }, 'attachment referenced by a message is missing from the blob store');
      throw new NotFoundException('attachment not found');
    }
    return { ref, stream: this.blobs.read(sha256) };
  }
}
