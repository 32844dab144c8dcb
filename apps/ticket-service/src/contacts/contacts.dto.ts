import { IdentityKind, Uuid } from '@oq/contracts';
import { ApiDateTime, ApiUuid } from '@oq/platform';
import { z } from 'zod';
import { TicketView } from '../tickets/ticket.dto';

export const ContactSearchQuery = z.object({
  /** Prefix of any identity value (email, phone, handle, id) or of the name. */
  q: z.string().trim().min(2, 'search needs at least 2 characters').max(320),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});
export type ContactSearchQuery = z.infer<typeof ContactSearchQuery>;

export const MergeContactBody = z.object({ intoContactId: Uuid }).strict();
export type MergeContactBody = z.infer<typeof MergeContactBody>;

const ContactIdentity = z.object({ id: ApiUuid, kind: IdentityKind, value: z.string(), verified: z.boolean() });

/** A contact in search results: only the identities the caller may see. */
export const ContactSummary = z
  .object({
    id: ApiUuid,
    name: z.string().nullable(),
    identities: z.array(ContactIdentity),
    createdAt: ApiDateTime,
    updatedAt: ApiDateTime,
  })
  .meta({ id: 'ContactSummary' });

export const ContactSearchResult = z.object({ items: z.array(ContactSummary) });

export const ContactView = z
  .object({
    id: ApiUuid,
    name: z.string().nullable(),
    /** Set when this contact was merged into another. */
    mergedIntoId: ApiUuid.nullable(),
    identities: z.array(
      ContactIdentity.extend({
        /** A WhatsApp id's phone identity. */
        linkedIdentityId: ApiUuid.nullable(),
        createdAt: ApiDateTime,
      }),
    ),
    /** Visible tickets the contact requested or is CC on, latest activity first (at most 200). */
    tickets: z.array(TicketView),
    createdAt: ApiDateTime,
    updatedAt: ApiDateTime,
  })
  .meta({ id: 'Contact' });

export const ContactMergeView = ContactView.extend({
  merge: z.object({
    sourceContactId: ApiUuid,
    targetContactId: ApiUuid,
    movedIdentities: z.number().int(),
    movedTickets: z.array(ApiUuid),
  }),
}).meta({ id: 'ContactMerge' });

export const MergeSuggestions = z.object({
  items: z.array(
    z.object({
      id: ApiUuid,
      /** Why they may be one person (spoofable evidence, e.g. the same name and address). */
      reason: z.string(),
      createdAt: ApiDateTime,
      contact: z.object({
        id: ApiUuid,
        name: z.string().nullable(),
        identities: z.array(z.object({ kind: IdentityKind, value: z.string() })),
      }),
    }),
  ),
});
