import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';

/**
 * Sends stored bytes (an attachment, a mail's raw source) as a download: always `attachment`, so a
 * browser never renders customer-supplied HTML or SVG in our origin; `nosniff` so it cannot guess
 * another type; never cached by shared caches. The file name travels as an ASCII fallback plus
 * RFC 5987 UTF-8, since names come from customers in every script.
 */
export function sendDownload(
  reply: FastifyReply,
  file: { stream: Readable; size: number; contentType: string; filename: string },
): FastifyReply {
  const ascii = file.filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return reply
    .header('content-type', file.contentType)
    .header(
      'content-disposition',
      `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(file.filename)}`,
    )
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'private, no-store')
    .header('content-length', String(file.size))
    .send(file.stream);
}
