import { INBOUND_MESSAGE_VERSION } from '@oq/contracts';
import { MediaRef, ParsedEvents, emptyEvents, mediaFilename, millisToIso } from './parsed';

/* Shapes from the Messenger Platform / Instagram Messaging webhook reference. Only what we read. */
interface Attachment {
  type: string;
  payload?: { url?: string; title?: string; coordinates?: { lat: number; long: number } };
}
interface MessagingEvent {
  sender?: { id: string };
  recipient?: { id: string };
  timestamp?: number;
  message?: {
    mid: string;
    text?: string;
    is_echo?: boolean;
    is_deleted?: boolean;
    attachments?: Attachment[];
    quick_reply?: { payload: string };
    reply_to?: { mid?: string };
  };
  message_edit?: { mid: string; text?: string; num_edit: number };
  postback?: { mid?: string; title?: string; payload?: string };
  delivery?: { mids?: string[]; watermark?: number };
  read?: { mid?: string; watermark?: number };
}

/**
 * Messenger (`object: page`, PSIDs) and Instagram (`object: instagram`, IGSIDs):
 * `entry[].messaging[]` with messages (text, attachments, quick replies), edits,
 * postbacks, deliveries and reads. Echoes of our own sends are ignored — the
 * ticket already has them. A delivery or read that names mids becomes one report
 * per mid (Instagram reads name the mid); one that carries only a `watermark`
 * (Messenger reads always, deliveries from older clients) becomes a watermark
 * receipt for the conversation with that customer, which ticket-service resolves
 * to our messages sent up to that instant.
 */
export function parseMessenger(
  body: unknown,
  inboxId: string,
  channel: 'messenger' | 'instagram',
  receivedAt: string,
): ParsedEvents {
  const out = emptyEvents();
  const root = body as { object?: string; entry?: { id?: string; time?: number; messaging?: MessagingEvent[] }[] };
  const expected = channel === 'messenger' ? 'page' : 'instagram';
  if (root?.object !== expected) {
    out.ignored.push(`object ${String(root?.object)} on a ${channel} inbox`);
    return out;
  }
  for (const entry of root.entry ?? []) {
    for (const ev of entry.messaging ?? []) {
      const at = millisToIso(ev.timestamp ?? entry.time, receivedAt);
      const sender = ev.sender?.id;
      if (ev.message) {
        const m = ev.message;
        if (m.is_echo) {
          out.ignored.push(`echo ${m.mid}`);
          continue;
        }
        if (m.is_deleted) {
          out.ignored.push(`deleted ${m.mid}`);
          continue;
        }
        // A message without a sender is malformed, not ignorable: the contract refuses the empty
        // identity and the worker dead-letters the event, so it is not silently dropped.
        const media: MediaRef[] = [];
        const metadata: Record<string, unknown> = {};
        const extra: string[] = [];
        (m.attachments ?? []).forEach((a, i) => {
          if (a.payload?.url && ['image', 'video', 'audio', 'file'].includes(a.type))
            media.push({
              source: 'url',
              url: a.payload.url,
              filename: urlFilename(a.payload.url, a.type, `${m.mid}-${i}`),
            });
          else if (a.type === 'location' && a.payload?.coordinates) {
            const c = a.payload.coordinates;
            metadata.location = { latitude: c.lat, longitude: c.long };
            extra.push(`https://maps.google.com/?q=${c.lat},${c.long}`);
          } else if (a.payload?.url) extra.push(a.payload.url);
        });
        if (m.quick_reply) metadata.quickReplyPayload = m.quick_reply.payload;
        if (m.reply_to?.mid) metadata.replyTo = m.reply_to.mid;
        out.messages.push({
          v: INBOUND_MESSAGE_VERSION,
          inboxId,
          channel,
          externalId: m.mid,
          revision: 0,
          sourceTime: at,
          receivedAt,
          sender: { kind: channel, value: sender ?? '' },
          text: [m.text, ...extra].filter(Boolean).join('\n'),
          media,
          metadata,
        });
      } else if (ev.message_edit && sender) {
        out.messages.push({
          v: INBOUND_MESSAGE_VERSION,
          inboxId,
          channel,
          externalId: ev.message_edit.mid,
          revision: ev.message_edit.num_edit,
          sourceTime: at,
          receivedAt,
          sender: { kind: channel, value: sender },
          text: ev.message_edit.text ?? '',
          media: [],
          metadata: { edited: true },
        });
      } else if (ev.postback && sender) {
        const id = ev.postback.mid ?? `postback:${sender}:${ev.timestamp ?? receivedAt}`;
        out.messages.push({
          v: INBOUND_MESSAGE_VERSION,
          inboxId,
          channel,
          externalId: id,
          revision: 0,
          sourceTime: at,
          receivedAt,
          sender: { kind: channel, value: sender },
          text: ev.postback.title ?? ev.postback.payload ?? '',
          media: [],
          metadata: { postbackPayload: ev.postback.payload },
        });
      } else if (ev.delivery || ev.read) {
        const status = ev.read ? 'read' : 'delivered';
        const mids = ev.read ? (ev.read.mid ? [ev.read.mid] : []) : (ev.delivery!.mids ?? []);
        for (const mid of mids) out.reports.push({ inboxId, providerMessageId: mid, status, occurredAt: at });
        const watermark = (ev.read ?? ev.delivery)!.watermark;
        if (mids.length) continue;
        if (sender && typeof watermark === 'number' && watermark > 0 && watermark < MAX_TIME_MS)
          out.watermarks.push({
            inboxId,
            to: { kind: channel, value: sender },
            status,
            watermark: new Date(watermark).toISOString(),
            occurredAt: at,
          });
        else out.ignored.push(`${status} receipt without mids or watermark`);
      } else out.ignored.push(`messaging event ${Object.keys(ev).join(',')}`);
    }
  }
  return out;
}

/** The largest instant a JS Date holds: a watermark beyond it is garbage, not a time. */
const MAX_TIME_MS = 8.64e15;

function urlFilename(url: string, type: string, id: string): string {
  try {
    const last = new URL(url).pathname.split('/').pop() ?? '';
    if (/^[\w.-]{1,120}\.[A-Za-z0-9]{1,8}$/.test(last)) return last;
  } catch {
    // fall through to a generated name
  }
  return mediaFilename(type, id);
}
