import { Injectable } from '@nestjs/common';
import { AttachmentRef, OutboundMessage } from '@oq/contracts';
import { BlobStore } from '@oq/platform';
import { MetaInbox, SocialInbox, TelegramInbox } from '../inboxes/social-inbox';
import { GraphClient } from '../providers/graph-client';
import { ProviderError } from '../providers/provider-error';
import { TelegramClient } from '../providers/telegram-client';

/**
 * Remembers which parts of a multi-part reply (text, then each attachment) the
 * provider already accepted, so a retry after a failure halfway does not send
 * the customer the same text twice.
 */
export interface PartProgress {
  get(index: number): Promise<string | null>;
  set(index: number, providerMessageId: string): Promise<void>;
}

type Part = { kind: 'text'; text: string } | { kind: 'template' } | { kind: 'file'; file: AttachmentRef };

/** Sends one OutboundMessage through the inbox's platform; returns the provider id of the first part. */
@Injectable()
export class SocialSender {
  constructor(
    private readonly graph: GraphClient,
    private readonly telegram: TelegramClient,
    private readonly blobs: BlobStore,
  ) {}

  async send(msg: OutboundMessage, inbox: SocialInbox, progress: PartProgress): Promise<string> {
    const parts: Part[] =
      msg.channel === 'whatsapp' && msg.template
        ? [{ kind: 'template' }]
        : [
            ...(msg.text.trim() ? [{ kind: 'text' as const, text: msg.text }] : []),
            ...msg.attachments.map((file) => ({ kind: 'file' as const, file })),
          ];
    const ids: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      const done = await progress.get(i);
      if (done) {
        ids.push(done);
        continue;
      }
      const id = await this.sendPart(msg, inbox, parts[i]);
      await progress.set(i, id);
      ids.push(id);
    }
    return ids[0];
  }

  private sendPart(msg: OutboundMessage, inbox: SocialInbox, part: Part): Promise<string> {
    if (inbox.channel === 'telegram') return this.telegramPart(msg, inbox, part);
    if (inbox.channel === 'whatsapp') return this.whatsappPart(msg, inbox, part);
    return this.messengerPart(msg, inbox, part);
  }

  /** WhatsApp Cloud API: POST /{phone-number-id}/messages; media uploaded first via /{phone-number-id}/media. */
  private async whatsappPart(msg: OutboundMessage, inbox: MetaInbox, part: Part): Promise<string> {
    const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to: msg.to.value };
    let body: Record<string, unknown>;
    if (part.kind === 'template') {
      const t = msg.template!;
      body = {
        ...base,
        type: 'template',
        template: {
          name: t.name,
          language: { code: t.language },
          components: t.parameters.length
            ? [{ type: 'body', parameters: t.parameters.map((text) => ({ type: 'text', text })) }]
            : [],
        },
      };
    } else if (part.kind === 'text') body = { ...base, type: 'text', text: { preview_url: false, body: part.text } };
    else {
      const form = new FormData();
      form.set('messaging_product', 'whatsapp');
      form.set('type', part.file.contentType);
      form.set('file', await this.blob(part.file), part.file.filename);
      const uploaded = await this.graph.postForm<{ id: string }>(
        `${inbox.address}/media`,
        inbox.secrets.accessToken,
        form,
        inbox.providerBase,
      );
      const type = whatsappMediaType(part.file.contentType);
      body = {
        ...base,
        type,
        [type]: type === 'document' ? { id: uploaded.id, filename: part.file.filename } : { id: uploaded.id },
      };
    }
    const res = await this.graph.postJson<{ messages?: { id: string }[] }>(
      `${inbox.address}/messages`,
      inbox.secrets.accessToken,
      body,
      inbox.providerBase,
    );
    const id = res.messages?.[0]?.id;
    if (!id) throw new ProviderError('meta', false, 'no_message_id', 'WhatsApp accepted the message without an id');
    return id;
  }

  /** Messenger / Instagram Send API: POST /{page-or-ig-id}/messages; files as multipart `filedata`. */
  private async messengerPart(msg: OutboundMessage, inbox: MetaInbox, part: Part): Promise<string> {
    const envelope = {
      recipient: { id: msg.to.value },
      messaging_type: msg.messageTag ? 'MESSAGE_TAG' : 'RESPONSE',
      ...(msg.messageTag ? { tag: msg.messageTag } : {}),
    };
    const path = `${inbox.address}/messages`;
    let res: { message_id?: string };
    if (part.kind === 'file') {
      const form = new FormData();
      form.set('recipient', JSON.stringify(envelope.recipient));
      form.set('messaging_type', envelope.messaging_type);
      if (msg.messageTag) form.set('tag', msg.messageTag);
      form.set(
        'message',
        JSON.stringify({
          attachment: { type: metaAttachmentType(part.file.contentType), payload: { is_reusable: false } },
        }),
      );
      form.set('filedata', await this.blob(part.file), part.file.filename);
      res = await this.graph.postForm(path, inbox.secrets.accessToken, form, inbox.providerBase);
    } else {
      res = await this.graph.postJson(
        path,
        inbox.secrets.accessToken,
        { ...envelope, message: { text: part.kind === 'text' ? part.text : msg.text } },
        inbox.providerBase,
      );
    }
    if (!res.message_id)
      throw new ProviderError('meta', false, 'no_message_id', 'the Send API answered without a message_id');
    return res.message_id;
  }

  /** Telegram: sendMessage, sendPhoto for images, sendDocument otherwise. Provider id = chatId:messageId like inbound. */
  private async telegramPart(msg: OutboundMessage, inbox: TelegramInbox, part: Part): Promise<string> {
    const chatId = msg.to.value;
    let result: { message_id: number; chat?: { id: number } };
    if (part.kind === 'file') {
      const photo = /^image\/(jpeg|png|webp)$/.test(part.file.contentType);
      const form = new FormData();
      form.set('chat_id', chatId);
      form.set(photo ? 'photo' : 'document', await this.blob(part.file), part.file.filename);
      result = await this.telegram.call(
        inbox.secrets.botToken,
        photo ? 'sendPhoto' : 'sendDocument',
        form,
        inbox.providerBase,
      );
    } else {
      result = await this.telegram.call(
        inbox.secrets.botToken,
        'sendMessage',
        { chat_id: chatId, text: msg.text },
        inbox.providerBase,
      );
    }
    return `${result.chat?.id ?? chatId}:${result.message_id}`;
  }

  private async blob(ref: AttachmentRef): Promise<Blob> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.blobs.read(ref.sha256)) chunks.push(chunk as Buffer);
    return new Blob([Buffer.concat(chunks)], { type: ref.contentType });
  }
}

function whatsappMediaType(contentType: string): 'image' | 'audio' | 'video' | 'document' {
  if (/^image\/(jpeg|png)$/.test(contentType)) return 'image';
  if (contentType.startsWith('audio/')) return 'audio';
  if (/^video\/(mp4|3gpp)$/.test(contentType)) return 'video';
  return 'document';
}

function metaAttachmentType(contentType: string): 'image' | 'audio' | 'video' | 'file' {
  if (contentType.startsWith('image/')) return 'image';
  if (contentType.startsWith('audio/')) return 'audio';
  if (contentType.startsWith('video/')) return 'video';
  return 'file';
}
