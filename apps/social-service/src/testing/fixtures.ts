/**
 * Webhook bodies shaped exactly like the providers' documented examples, with our ids filled in.
 */

/** Source: WhatsApp Cloud API, Webhooks → Payload examples → "Text messages" / "Media messages"
 * (https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples). */
export function whatsappMessage(
  phoneNumberId: string,
  waId: string,
  message: Record<string, unknown>,
  name = 'Kerry Fisher',
) {
  return whatsappEnvelope(phoneNumberId, {
    contacts: [{ profile: { name }, wa_id: waId }],
    messages: [{ from: waId, timestamp: String(Math.floor(Date.now() / 1000)), ...message }],
  });
}

function whatsappEnvelope(phoneNumberId: string, value: Record<string, unknown>) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
              ...value,
            },
            field: 'messages',
          },
        ],
      },
    ],
  };
}

/** Source: WhatsApp Cloud API, Webhooks → Payload examples → "Message status updates" (sent/delivered/read/failed). */
export function whatsappStatus(
  phoneNumberId: string,
  waId: string,
  wamid: string,
  status: 'sent' | 'delivered' | 'read' | 'failed',
  errors?: { code: number; title: string; message: string; error_data: { details: string } }[],
) {
  return whatsappEnvelope(phoneNumberId, {
    statuses: [
      {
        id: wamid,
        status,
        timestamp: String(Math.floor(Date.now() / 1000)),
        recipient_id: waId,
        ...(status === 'failed' ? { errors } : {}),
        ...(status === 'sent'
          ? {
              conversation: { id: 'CONVERSATION_ID', origin: { type: 'service' } },
              pricing: { billable: true, pricing_model: 'CBP', category: 'service' },
            }
          : {}),
      },
    ],
  });
}

/** Source: Messenger Platform, Webhook events → messages (https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages). */
/** One `messaging[]` item: from the customer to the page unless `fromPage`. */
export function messaging(customer: string, page: string, event: Record<string, unknown>, fromPage = false) {
  return {
    sender: { id: fromPage ? page : customer },
    recipient: { id: fromPage ? customer : page },
    timestamp: Date.now(),
    ...event,
  };
}

export function messengerEvent(object: 'page' | 'instagram', pageId: string, events: Record<string, unknown>[]) {
  return { object, entry: [{ id: pageId, time: Date.now(), messaging: events }] };
}

/** Source: Telegram Bot API, "Getting updates" → Update / Message (https://core.telegram.org/bots/api#update);
 * the example shape is the one from https://core.telegram.org/bots/webhooks#testing-your-bot-with-updates. */
export function telegramUpdate(
  updateId: number,
  kind: 'message' | 'edited_message',
  message: Record<string, unknown>,
  user = { id: 1111111, first_name: 'Test Firstname', last_name: 'Test Lastname', username: 'Testusername' },
) {
  return {
    update_id: updateId,
    [kind]: {
      date: Math.floor(Date.now() / 1000) - 60,
      chat: {
        id: user.id,
        type: 'private',
        first_name: user.first_name,
        last_name: user.last_name,
        username: user.username,
      },
      from: { ...user, is_bot: false },
      ...message,
    },
  };
}
