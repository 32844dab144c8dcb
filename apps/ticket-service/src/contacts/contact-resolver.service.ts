import { Injectable } from '@nestjs/common';
import { IdentityKind, IdentityRef, normalizePhone, VERIFIED_IDENTITY_KINDS } from '@oq/contracts';
import { ContactRepository, Db } from '@oq/database';
import { ContactMergeService } from './contact-merge.service';

export interface ResolvedIdentity {
  contactId: string;
  identityId: string;
  /** True when this call created the identity (and, unless linked, its contact). */
  created: boolean;
}

export interface KnownSender {
  identityId: string;
  contactId: string;
  /** The contact has no name yet, or a blank one (a display name would fill it). */
  unnamed: boolean;
  /** The identity this one is linked to (a wa_id's phone) and who owns it. */
  linked: { kind: string; value: string; contactId: string } | null;
}

export interface InboundSender extends IdentityRef {
  displayName?: string;
  /** Identities the channel vouches for (a WhatsApp wa_id's phone number). */
  linked?: IdentityRef[];
}

/** Canonical form of an identity value so `Foo@Bar.com` and `foo@bar.com` are one identity. */
export function normalizeIdentity(ref: IdentityRef): IdentityRef {
  const value = ref.value.trim();
  switch (ref.kind) {
    case 'email':
      return { kind: ref.kind, value: value.toLowerCase() };
    case 'phone':
      // E.164 by the shared rule, without a region (voice-service already read national numbers in its
      // inbox's region): "+49 30 1234", "0049…", a wa_id's digits. Unreadable ("0812…" has no country):
      // kept as given without separators, 00 as +, so the same typing finds the same identity again.
      return { kind: ref.kind, value: normalizePhone(value) ?? value.replace(/[\s().-]/g, '').replace(/^00/, '+') };
    default:
      return { kind: ref.kind, value };
  }
}

/**
 * Finds or creates contacts by identity. Safe under concurrency without locks:
 * the identity insert is `ON CONFLICT DO NOTHING` and a loser adopts the winner's
 * row (the ingest path additionally holds a per-sender advisory lock).
 */
@Injectable()
export class ContactResolverService {
  constructor(private readonly merges: ContactMergeService) {}

  async find(manager: Db, ref: IdentityRef): Promise<{ contactId: string; identityId: string } | null> {
    const { kind, value } = normalizeIdentity(ref);
    const row = await contacts(manager).findIdentity(kind, value);
    return row ? { contactId: row.contact_id, identityId: row.id } : null;
  }

  /**
   * The contact owning this exact identity, created (with `name`) when unknown —
   * used by ingest and by "create a ticket on behalf of a customer".
   */
  async findOrCreate(
    manager: Db,
    ref: IdentityRef,
    opts: {
      name?: string;
      contactId?: string;
      linkedIdentityId?: string;
      verified?: boolean;
      /** The caller read this identity as missing in this transaction: skip reading it again. */
      absent?: boolean;
    } = {},
  ): Promise<ResolvedIdentity> {
    const { kind, value } = normalizeIdentity(ref);
    if (!opts.absent) {
      const existing = await this.find(manager, { kind, value });
      if (existing) return { ...existing, created: false };
    }

    // Contact (unless given) and identity in one round trip; the identity insert is the real guard.
    const repo = contacts(manager);
    const row = await repo.createIdentity({
      contactId: opts.contactId ?? null,
      kind,
      value,
      verified: opts.verified ?? VERIFIED_IDENTITY_KINDS.includes(kind),
      linkedIdentityId: opts.linkedIdentityId ?? null,
      name: opts.name ?? null,
    });
    if (row.identity_id) return { contactId: row.contact_id, identityId: row.identity_id, created: true };

    // Lost a race with another transaction: use its identity, drop the contact we made.
    if (!opts.contactId) await repo.deleteContact(row.contact_id);
    const winner = await this.find(manager, { kind, value });
    if (!winner) throw new Error(`identity ${kind} vanished while resolving`);
    return { ...winner, created: false };
  }

  /**
   * The sender of an inbound message. A sender with linked identities (a wa_id and
   * its E.164 phone) ends up on one contact with the link recorded. When the linked
   * identity already belongs to ANOTHER contact, the two merge automatically only
   * if the sender's identity is a verified kind; otherwise agents get a suggestion.
   */
  async resolveSender(
    manager: Db,
    sender: InboundSender,
    /** What the caller already read about the sender's identity (null: known not to exist). */
    known?: KnownSender | null,
  ): Promise<ResolvedIdentity & { mergedContactIds: string[]; suggested: string[] }> {
    const mergedContactIds: string[] = [];
    const suggested: string[] = [];
    const linked = senderLinks(sender);

    let own: { contactId: string; identityId: string } | null =
      known === undefined ? await this.find(manager, sender) : known && { ...known };
    // Hot path: a known sender whose link is already recorded on the same contact needs no writes.
    if (known && !(known.unnamed && sender.displayName) && linkRecorded(known, linked))
      return { ...known, created: false, mergedContactIds, suggested };

    let created = false;
    // A new sender whose linked identity exists joins that contact (the customer we know by phone).
    // Linked identities read as missing here need no second read below (the insert still guards races).
    const absentLinks = new Set<IdentityRef>();
    if (!own) {
      let joinContact: string | undefined;
      for (const l of linked) {
        const found = await this.find(manager, l);
        if (found) {
          joinContact = found.contactId;
          break;
        }
        absentLinks.add(l);
      }
      const made = await this.findOrCreate(manager, sender, {
        name: sender.displayName,
        contactId: joinContact,
        absent: known === null,
      });
      own = { contactId: made.contactId, identityId: made.identityId };
      created = made.created;
    } else if (sender.displayName && (!known || known.unnamed)) {
      // A contact without a name takes the first one it gets; a name it has is never replaced by a
      // later message's (each message keeps its own, messages.sender_name).
      await contacts(manager).nameIfUnnamed(own.contactId, sender.displayName);
    }

    for (const l of linked) {
      const other = await this.findOrCreate(manager, l, { contactId: own.contactId, absent: absentLinks.has(l) });
      if (other.contactId !== own.contactId) {
        if (VERIFIED_IDENTITY_KINDS.includes(sender.kind as IdentityKind)) {
          // The provider vouches for the link (WhatsApp verified the number): one person, one contact.
          await this.merges.merge(manager, other.contactId, own.contactId, { type: 'system' });
          mergedContactIds.push(other.contactId);
        } else {
          await this.merges.suggest(
            manager,
            own.contactId,
            other.contactId,
            `${sender.kind} sender linked to ${l.kind} ${l.value}`,
          );
          suggested.push(other.contactId);
        }
      }
      // Record which phone identity a wa_id stands for (first link wins; never overwritten silently).
      await contacts(manager).linkIdentity(own.identityId, other.identityId);
    }
    return { ...own, created, mergedContactIds, suggested };
  }
}

/** The sender's links (normalised, without itself) the channel vouches for. */
export function senderLinks(sender: InboundSender): IdentityRef[] {
  return (sender.linked ?? []).map(normalizeIdentity).filter((l) => !sameIdentity(l, sender));
}

/**
 * A known sender's links are what the channel says: none, or the one already recorded on the same
 * contact. Then resolving the sender writes nothing but, for an unnamed contact, its name.
 */
export function linkRecorded(known: KnownSender, linked: IdentityRef[]): boolean {
  return (
    linked.length === 0 ||
    (linked.length === 1 &&
      known.linked?.kind === linked[0].kind &&
      known.linked.value === linked[0].value &&
      known.linked.contactId === known.contactId)
  );
}

/** Bound per call: every method runs in the caller's transaction (and specs construct this service without Nest). */
function contacts(manager: Db): ContactRepository {
  return new ContactRepository(manager);
}

function sameIdentity(a: IdentityRef, b: IdentityRef): boolean {
  const n = normalizeIdentity(b);
  return a.kind === n.kind && a.value === n.value;
}
