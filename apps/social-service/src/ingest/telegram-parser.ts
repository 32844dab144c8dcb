import { INBOUND_MESSAGE_VERSION } from '@oq/contracts';
import { MediaRef, ParsedEvents, emptyEvents, mediaFilename, secondsToIso } from './parsed';

/* Shapes from the Telegram Bot API (Update, Message). Only what we read. */
interface TgUser {
  id: number;
  is_bot?: boolean;
  first_name?: string;
  last_name?: string;
  username?: string;
}
interface TgMessage {
  message_id: number;
  from?: TgUser;
  chat: { id: number; type: string };
  date: number;
  edit_date?: number;
  text?: string;
  caption?: string;
  photo?: { file_id: string; file_unique_id: string; width: number; height: number; file_size?: number }[];
  document?: { file_id: string; file_unique_id: string; file_name?: string; mime_type?: string };
  voice?: { file_id: string; file_unique_id: string; mime_type?: string; duration?: number };
  audio?: { file_id: string; file_unique_id: string; file_name?: string; mime_type?: string };
  video?: { file_id: string; file_unique_id: string; file_name?: string; mime_type?: string };
  location?: { latitude: number; longitude: number };
  contact?: { phone_number: string; first_name?: string; last_name?: string; user_id?: number };
  reply_to_message?: { message_id: number };
}

/**
 * One Telegram Update: `message` or `edited_message` of a private chat. The
 * externalId is `chatId:messageId` for both, and an edit's revision is its
 * edit_date, so edits land on the same message as later revisions and a
 * redelivered older edit changes nothing.
 */
export function parseTelegram(body: unknown, inboxId: string, receivedAt: string): ParsedEvents {
  const out = emptyEvents();
  const update = body as { update_id?: number; message?: TgMessage; edited_message?: TgMessage };
  const m = update?.message ?? update?.edited_message;
  if (!m) {
    out.ignored.push(`update ${update?.update_id} without message`);
    return out;
  }
  if (m.chat?.type !== 'private' || !m.from || m.from.is_bot) {
    out.ignored.push(`update ${update.update_id} from a ${m.chat?.type} chat`);
    return out;
  }
  const edited = !update.message;
  const media: MediaRef[] = [];
  const metadata: Record<string, unknown> = {};
  let text = m.text ?? m.caption ?? '';

  if (m.photo?.length) {
    // Sizes come smallest first; the last one is the original resolution.
    const best = m.photo[m.photo.length - 1];
    media.push({
      source: 'telegram',
      fileId: best.file_id,
      mimeType: 'image/jpeg',
      filename: mediaFilename('photo', best.file_unique_id, 'image/jpeg'),
    });
  }
  for (const [kind, f] of [
    ['document', m.document],
    ['voice', m.voice],
    ['audio', m.audio],
    ['video', m.video],
  ] as const) {
    if (!f) continue;
    const name = 'file_name' in f && f.file_name ? f.file_name : mediaFilename(kind, f.file_unique_id, f.mime_type);
    media.push({ source: 'telegram', fileId: f.file_id, mimeType: f.mime_type, filename: name });
    if (kind === 'voice') metadata.voice = true;
  }
  if (m.location) {
    metadata.location = m.location;
    text = [text, `https://maps.google.com/?q=${m.location.latitude},${m.location.longitude}`]
      .filter(Boolean)
      .join('\n');
  }
  if (m.contact) {
    metadata.contact = m.contact;
    text = [text, [m.contact.first_name, m.contact.last_name, m.contact.phone_number].filter(Boolean).join(' ')]
      .filter(Boolean)
      .join('\n');
  }
  if (m.reply_to_message) metadata.replyTo = `${m.chat.id}:${m.reply_to_message.message_id}`;
  if (edited) metadata.edited = true;
  if (m.from.username) metadata.username = m.from.username;

  out.messages.push({
    v: INBOUND_MESSAGE_VERSION,
    inboxId,
    channel: 'telegram',
    externalId: `${m.chat.id}:${m.message_id}`,
    revision: edited ? (m.edit_date ?? 1) : 0,
    sourceTime: secondsToIso(m.date, receivedAt),
    receivedAt,
    sender: {
      kind: 'telegram',
      value: String(m.from.id),
      displayName: [m.from.first_name, m.from.last_name].filter(Boolean).join(' ') || m.from.username,
    },
    text,
    media,
    metadata,
  });
  return out;
}
