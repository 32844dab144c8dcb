import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { ChatHistoryPage } from '@oq/contracts';
import { CONFIG, SERVICE_TOKEN_HEADER } from '@oq/platform';
import { Config } from '../config';
import { Customer } from '../identity/customer';

/** A customer's chat history, read from ticket-service (which keeps internal notes out of it). */
@Injectable()
export class HistoryService {
  constructor(@Inject(CONFIG) private readonly config: Config) {}

  async page(customer: Customer, cursor: string | undefined, limit: number): Promise<ChatHistoryPage> {
    const url = new URL('/internal/chat/history', this.config.TICKET_SERVICE_URL);
    url.searchParams.set('inboxId', customer.inboxId);
    // Every identity the customer is known by here: their user id and the visitors they signed in from.
    const identities = new Set(customer.rooms.map((r) => r.split(':').slice(2).join(':')));
    for (const i of identities) url.searchParams.append('identity', i);
    if (cursor) url.searchParams.set('cursor', cursor);
    url.searchParams.set('limit', String(limit));
    const res = await fetch(url, {
      headers: { [SERVICE_TOKEN_HEADER]: this.config.SERVICE_TOKEN },
      signal: AbortSignal.timeout(5000),
    }).catch(() => null);
    if (!res || !res.ok) throw new ServiceUnavailableException('chat history is unavailable, retry shortly');
    return ChatHistoryPage.parse(await res.json());
  }
}
