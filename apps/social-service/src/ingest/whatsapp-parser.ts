import { IdentityRef, INBOUND_MESSAGE_VERSION, normalizePhone } from '@oq/contracts';
import { MediaRef, ParsedEvents, ParsedMessage, emptyEvents, mediaFilename, secondsToIso } from './parsed';

/* Shapes from the WhatsApp Cloud API webhook reference (messages and statuses). Only what we read. */
interface WaMedia {
  id: string;
  mime_type?: string;
  sha256?: string;
  caption?: string;
  filename?: string;
}
interface WaMessage {
  from: string;
  id: string;
  timestamp: string;
  type: string;
  text?: { body: string };
  image?: WaMedia;
  document?: WaMedia;
  audio?: WaMedia & { voice?: boolean };
  video?: WaMedia;
  sticker?: WaMedia;
  location?: { latitude: number; longitude: number; name?: string; address?: string; url?: string };
  contacts?: {
    name?: { formatted_name?: string };
    phones?: { phone?: string; wa_id?: string; type?: string }[];
    emails?: { email?: string }[];
  }[];
  interactive?: {
    type: 'button_reply' | 'list_reply' | string;
    button_reply?: { id: string; title: string };
    list_reply?: { id: string; title: string; description?: string };
  };
  button?: { text: string; payload?: string };
  reaction?: { message_id: string; emoji?: string };
  context?: { from?: string; id?: string };
  errors?: { code: number; title: string }[];
}
interface WaStatus {
  id: string;
  status: 'sent' | 'delivered' | 'read' | 'failed' | string;
  timestamp: string;
  recipient_id?: string;
  errors?: { code: number; title?: string; message?: string; error_data?: { details?: string } }[];
}
interface WaValue {
  messaging_product?: string;
  metadata?: { display_phone_number?: string; phone_number_id?: string };
  contacts?: { profile?: { name?: string }; wa_id: string }[];
  messages?: WaMessage[];
  statuses?: WaStatus[];
}

/**
 * The wa_id's phone number in E.164 by the shared rule (normalizePhone: a wa_id is the number without
 * its +, read without a region), so the sender is the contact who calls from it; none when it is not
 * a possible number (an id that is no phone number).
 */
export function waIdToE164(waId: string): string | undefined {
  return normalizePhone(waId);
}

const MEDIA_TYPES = ['image', 'document', 'audio', 'video', 'sticker'] as const;

/**
 * WhatsApp Cloud API: `entry[].changes[].value` with `messages[]` and `statuses[]`.
 * `phoneNumberId` is the inbox's address; changes for another number (one Meta app
 * serving several numbers) are skipped here and reported as ignored.
 */
export function parseWhatsApp(body: unknown, inboxId: string, phoneNumberId: string, receivedAt: string): ParsedEvents {
  const out = emptyEvents();
  const root = body as { object?: string; entry?: { changes?: { field?: string; value?: WaValue }[] }[] };
  if (root?.object !== 'whatsapp_business_account') {
    out.ignored.push(`object ${String(root?.object)}`);
    return out;
  }
  for (const entry of root.entry ?? []) {
    for (const change of entry.changes ?? []) {
      const value = change.value;
      if (change.field !== 'messages' || !value) {
        out.ignored.push(`field ${String(change.field)}`);
        continue;
      }
      const forNumber = value.metadata?.phone_number_id;
      if (forNumber && forNumber !== phoneNumberId) {
        out.ignored.push(`phone_number_id ${forNumber} is not this inbox's ${phoneNumberId}`);
        continue;
      }
      const names = new Map((value.contacts ?? []).map((c) => [c.wa_id, c.profile?.name]));
      for (const m of value.messages ?? []) {
        const parsed = message(m, names.get(m.from), inboxId, receivedAt);
        if (parsed) out.messages.push(parsed);
        else out.ignored.push(`message type ${m.type}`);
      }
      for (const s of value.statuses ?? []) {
        if (!['sent', 'delivered', 'read', 'failed'].includes(s.status)) {
          out.ignored.push(`status ${s.status}`);
          continue;
        }
        const err = s.errors?.[0];
        out.reports.push({
          inboxId,
          providerMessageId: s.id,
          status: s.status as 'sent' | 'delivered' | 'read' | 'failed',
          occurredAt: secondsToIso(s.timestamp, receivedAt),
          ...(s.status === 'failed'
            ? {
                errorCode: err ? String(err.code) : 'unknown',
                reason: err
                  ? [err.title, err.error_data?.details ?? err.message].filter(Boolean).join(': ')
                  : 'WhatsApp reported the message as failed without an error',
              }
            : {}),
        });
      }
    }
  }
  return out;
}

function message(m: WaMessage, name: string | undefined, inboxId: string, receivedAt: string): ParsedMessage | null {
  const phone = waIdToE164(m.from);
  const linked: IdentityRef[] = phone ? [{ kind: 'phone', value: phone }] : [];
  const metadata: Record<string, unknown> = { whatsappType: m.type };
  if (m.context?.id) metadata.replyTo = m.context.id;
  let text = '';
  const media: MediaRef[] = [];

  if (m.type === 'text' && m.text) text = m.text.body;
  else if ((MEDIA_TYPES as readonly string[]).includes(m.type)) {
    const item = m[m.type as (typeof MEDIA_TYPES)[number]];
    if (!item?.id) return null;
    text = item.caption ?? '';
    media.push({
      source: 'whatsapp',
      mediaId: item.id,
      mimeType: item.mime_type,
      sha256: item.sha256,
      filename: item.filename || mediaFilename(m.type, item.id, item.mime_type),
    });
    if (m.type === 'audio' && m.audio?.voice) metadata.voice = true;
  } else if (m.type === 'location' && m.location) {
    const l = m.location;
    metadata.location = l;
    text = [l.name, l.address, `https://maps.google.com/?q=${l.latitude},${l.longitude}`].filter(Boolean).join('\n');
  } else if (m.type === 'contacts' && m.contacts) {
    metadata.contacts = m.contacts;
    text = m.contacts
      .map((c) =>
        [c.name?.formatted_name, ...(c.phones ?? []).map((p) => p.phone), ...(c.emails ?? []).map((e) => e.email)]
          .filter(Boolean)
          .join(', '),
      )
      .join('\n');
  } else if (m.type === 'interactive' && m.interactive) {
    const reply = m.interactive.button_reply ?? m.interactive.list_reply;
    if (!reply) return null;
    metadata.interactive = { type: m.interactive.type, id: reply.id };
    text = reply.title;
  } else if (m.type === 'button' && m.button) {
    metadata.buttonPayload = m.button.payload;
    text = m.button.text;
  } else return null;

  return {
    v: INBOUND_MESSAGE_VERSION,
    inboxId,
    channel: 'whatsapp',
    externalId: m.id,
    revision: 0,
    sourceTime: secondsToIso(m.timestamp, receivedAt),
    receivedAt,
    sender: { kind: 'whatsapp', value: m.from, displayName: name, linked },
    text,
    media,
    metadata,
  };
}
