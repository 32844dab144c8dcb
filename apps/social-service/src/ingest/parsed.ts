import { DeliveryReport, DeliveryWatermark, InboundMessageInput } from '@oq/contracts';

/** Media a message refers to, downloaded by the worker before the InboundMessage is queued. */
export type MediaRef =
  | { source: 'whatsapp'; mediaId: string; mimeType?: string; filename: string; sha256?: string }
  | { source: 'url'; url: string; mimeType?: string; filename: string }
  | { source: 'telegram'; fileId: string; mimeType?: string; filename: string };

export type ParsedMessage = Omit<InboundMessageInput, 'attachments'> & { media: MediaRef[] };

export type ParsedReport = Omit<DeliveryReport, 'v'>;

export type ParsedWatermark = Omit<DeliveryWatermark, 'v'>;

/** What one webhook body turns into. Parsers are pure: no I/O, easy to test against documented payloads. */
export interface ParsedEvents {
  messages: ParsedMessage[];
  reports: ParsedReport[];
  /** Receipts for a whole conversation up to an instant (Messenger/Instagram watermarks). */
  watermarks: ParsedWatermark[];
  /** Events deliberately not turned into anything (echoes, unsupported kinds), for a debug log. */
  ignored: string[];
}

export function emptyEvents(): ParsedEvents {
  return { messages: [], reports: [], watermarks: [], ignored: [] };
}

export function secondsToIso(seconds: string | number | undefined, fallback: string): string {
  const n = Number(seconds);
  return Number.isFinite(n) && n > 0 ? new Date(n * 1000).toISOString() : fallback;
}

export function millisToIso(ms: number | undefined, fallback: string): string {
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : fallback;
}

/** A file name for media that came without one: `<kind>-<id>.<ext>`. */
export function mediaFilename(kind: string, id: string, mimeType?: string): string {
  const ext = mimeType ? (MIME_EXT[mimeType.split(';')[0].trim()] ?? '') : '';
  return `${kind}-${id.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 40) || 'file'}${ext}`;
}

const MIME_EXT: Record<string, string> = {
  'image/jpeg': '.jpg',
  'image/png': '.png',
  'image/webp': '.webp',
  'image/gif': '.gif',
  'audio/ogg': '.ogg',
  'audio/mpeg': '.mp3',
  'audio/aac': '.aac',
  'audio/mp4': '.m4a',
  'video/mp4': '.mp4',
  'video/3gpp': '.3gp',
  'application/pdf': '.pdf',
};
