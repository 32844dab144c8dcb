import { z } from 'zod';

export const CHANNELS = ['email', 'whatsapp', 'messenger', 'instagram', 'telegram', 'voice', 'chat'] as const;
export const Channel = z.enum(CHANNELS);
export type Channel = z.infer<typeof Channel>;

export const IDENTITY_KINDS = [
  'email',
  'phone',
  'whatsapp',
  'messenger',
  'instagram',
  'telegram',
  'app_user',
  'visitor',
  /**
   * A caller who withheld their number: one identity per call (`<inboxId>:<callId>`),
   * so it never matches, links or merges anyone. Only voice-service produces it.
   */
  'anonymous',
] as const;
export const IdentityKind = z.enum(IDENTITY_KINDS);
export type IdentityKind = z.infer<typeof IdentityKind>;

/** Identifiers a provider has verified (not spoofable): they may merge contacts automatically. */
export const VERIFIED_IDENTITY_KINDS: readonly IdentityKind[] = ['whatsapp', 'app_user'];

export const IsoDateTime = z.iso.datetime({ offset: true });
export const Uuid = z.uuid();

export const IdentityRef = z.object({
  kind: IdentityKind,
  value: z.string().trim().min(1).max(320),
});
export type IdentityRef = z.infer<typeof IdentityRef>;

export const AttachmentRef = z.object({
  /** hex sha256 of the content in the blob store; jobs carry refs, never bytes. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex sha256'),
  size: z.number().int().nonnegative(),
  filename: z.string().min(1).max(255),
  contentType: z.string().min(1).max(255),
  /** Inline images referenced from HTML as cid:… */
  contentId: z.string().max(255).optional(),
  inline: z.boolean().optional(),
});
export type AttachmentRef = z.infer<typeof AttachmentRef>;

export const DeliveryStatus = z.enum(['queued', 'sent', 'delivered', 'read', 'failed']);
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;

export const TicketPriority = z.enum(['low', 'normal', 'high', 'urgent']);
export type TicketPriority = z.infer<typeof TicketPriority>;

// TicketStatus and the ticket lifecycle live in ./ticket-status.
