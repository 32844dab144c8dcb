import { Inject, Injectable, NotFoundException, UnprocessableEntityException } from '@nestjs/common';
import { ContactRepository, ContactSearchRow, Db, VisibilityRepository, Viewer } from '@oq/database';
import { DataSource } from 'typeorm';
import { ContactMergeError, ContactMergeService } from './contact-merge.service';
import { toTicketView } from '../tickets/ticket.view';

/**
 * The agent-facing side of contacts: search, profile with every visible ticket,
 * suggestions. A contact is visible to an agent when one of its tickets is
 * (as requester or CC) — customers of other teams stay invisible (404) — and of
 * its identities only those on tickets the agent can see are shown or searched
 * (libs/database visibility.ts).
 */
@Injectable()
export class ContactsService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    private readonly merges: ContactMergeService,
    private readonly contacts: ContactRepository,
    private readonly visibility: VisibilityRepository,
  ) {}

  async assertVisible(viewer: Viewer, contactId: string, manager: Db = this.ds): Promise<void> {
    if (!(await this.visibility.with(manager).contactVisible(viewer, contactId)))
      throw new NotFoundException(`contact ${contactId} not found`);
  }

  async search(viewer: Viewer, q: string, limit: number) {
    const prefix = q.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
    const phoneish = /^\+?[\d\s().-]+$/.test(q) ? q.replace(/[\s().-]/g, '') : null;
    const rows = await this.contacts.search(viewer, {
      prefix,
      lowerPrefix: prefix.toLowerCase(),
      phonePrefix: phoneish ? phoneish + '%' : null,
      limit,
    });
    return { items: rows.map(toContactView) };
  }

  async get(viewer: Viewer, contactId: string) {
    await this.assertVisible(viewer, contactId);
    const contact = await this.contacts.find(contactId);
    if (!contact) throw new NotFoundException(`contact ${contactId} not found`);
    const identities = await this.contacts.visibleIdentitiesOf(viewer, contactId);
    const tickets = await this.contacts.visibleTicketsOf(viewer, contactId);
    return {
      ...toContactView({ ...contact, identities: [] }),
      mergedIntoId: contact.merged_into_id,
      identities: identities.map((i) => ({
        id: i.id,
        kind: i.kind,
        value: i.value,
        verified: i.verified,
        linkedIdentityId: i.linked_identity_id,
        createdAt: i.created_at,
      })),
      tickets: tickets.map(toTicketView),
    };
  }

  /**
   * An agent's merge by hand. Both contacts must be visible: merging moves the
   * source's tickets, so an agent must not reach into customers they cannot see.
   */
  async merge(viewer: Viewer, sourceId: string, targetId: string) {
    const result = await this.ds.transaction(async (m) => {
      await this.assertVisible(viewer, sourceId, m);
      await this.assertVisible(viewer, targetId, m);
      try {
        return await this.merges.merge(m, sourceId, targetId, { type: 'agent', agentId: viewer.id });
      } catch (err) {
        if (err instanceof ContactMergeError) {
          if (err.code === 'not_found') throw new NotFoundException(err.message);
          throw new UnprocessableEntityException({ statusCode: 422, message: err.message, reason: err.code });
        }
        throw err;
      }
    });
    return { ...(await this.get(viewer, targetId)), merge: result };
  }

  async mergeSuggestions(viewer: Viewer, contactId: string) {
    await this.assertVisible(viewer, contactId);
    const rows = await this.contacts.openSuggestions(viewer, contactId);
    return {
      items: rows.map((r) => ({
        id: r.id,
        reason: r.reason,
        createdAt: r.created_at,
        contact: { id: r.other_id, name: r.other_name, identities: r.other_identities },
      })),
    };
  }
}

function toContactView(r: ContactSearchRow) {
  return {
    id: r.id,
    name: r.name,
    identities: r.identities,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
