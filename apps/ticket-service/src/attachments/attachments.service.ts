import { Inject, Injectable, NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { AttachmentRef } from '@oq/contracts';
import { BlobStore, BlobTooLargeError, LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { Viewer, visibleTicketSql } from '../tickets/viewer';

const SHA256 = /^[0-9a-f]{64}$/;
/** A declared type we can echo back safely; anything else is served as opaque bytes. */
const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;

/**
 * Agent uploads go to the content-addressed blob store and the blobs index;
 * downloads are served only through a message of a ticket the caller can see.
 */
@Injectable()
export class AttachmentsService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    private readonly blobs: BlobStore,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async store(source: Readable, filename: string, declaredType: string, maxBytes: number) {
    const contentType = MIME.test(declaredType) ? declaredType.toLowerCase() : 'application/octet-stream';
    let stored;
    try {
      stored = await this.blobs.putStream(source, maxBytes);
    } catch (err) {
      if (err instanceof BlobTooLargeError)
        throw new PayloadTooLargeException(`attachment exceeds the limit of ${maxBytes} bytes`);
      throw err;
    }
    // Same bytes, same row: uploading twice is harmless, and restarts the garbage collector's grace period.
    await this.ds.query(
      `INSERT INTO blobs (sha256, size, content_type) VALUES ($1, $2, $3)
       ON CONFLICT (sha256) DO UPDATE SET uploaded_at = now()`,
      [stored.sha256, stored.size, contentType],
    );
    return { sha256: stored.sha256, size: stored.size, filename, contentType };
  }

  /** The attachment as referenced by a message of a visible ticket; 404 in every other case. */
  async open(viewer: Viewer, sha256: string, ticketId: string): Promise<{ ref: AttachmentRef; stream: Readable }> {
    if (!SHA256.test(sha256)) throw new NotFoundException('attachment not found');
    const params: unknown[] = [ticketId, JSON.stringify([{ sha256 }]), sha256];
    const [row] = await this.ds.query(
      `SELECT a.ref FROM tickets t
         JOIN messages m ON m.ticket_id = t.id AND m.attachments @> $2::jsonb
         CROSS JOIN LATERAL jsonb_array_elements(m.attachments) a(ref)
        WHERE t.id = $1 AND a.ref->>'sha256' = $3 AND ${visibleTicketSql('t', viewer, params)}
        LIMIT 1`,
      params,
    );
    if (!row) throw new NotFoundException('attachment not found');
    if (!(await this.blobs.exists(sha256))) {
      this.logger.error({ sha256, ticketId }, 'attachment referenced by a message is missing from the blob store');
      throw new NotFoundException('attachment not found');
    }
    return { ref: row.ref as AttachmentRef, stream: this.blobs.read(sha256) };
  }
}
