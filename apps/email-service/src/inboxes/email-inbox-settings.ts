import { z } from 'zod';

/**
 * What an email inbox's `settings` and `secrets` (InboxConfig) hold. Shared so
 * ticket-service can validate an admin's input with the same schema the
 * email-service reads it with.
 */
export const EmailInboxSettings = z.object({
  imapHost: z.string().min(1),
  imapPort: z.coerce.number().int().min(1).max(65535).default(993),
  /** Implicit TLS (993); false means plain or STARTTLS when offered. */
  imapSecure: z.boolean().default(true),
  imapUser: z.string().min(1),
  folder: z.string().min(1).default('INBOX'),
  /** What happens on the server after a mail became a ticket message. */
  afterImport: z
    .string()
    .regex(/^(leave|seen|move:.+)$/, 'must be leave, seen or move:<folder>')
    .default('leave'),
  smtpHost: z.string().min(1),
  smtpPort: z.coerce.number().int().min(1).max(65535).default(587),
  smtpSecure: z.boolean().default(false),
  smtpUser: z.string().min(1).optional(),
  /** From address of replies; the inbox address when absent. */
  fromAddress: z.email().optional(),
  fromName: z.string().max(200).optional(),
  /** Sends per second through this inbox's SMTP server, across all replicas (token bucket, burst 2×). */
  smtpRatePerSecond: z.coerce.number().positive().max(10_000).default(100),
});
export type EmailInboxSettings = z.infer<typeof EmailInboxSettings>;

export const EmailInboxSecrets = z
  .object({
    imapPassword: z.string().optional(),
    /** OAuth2 access token: IMAP authenticates with XOAUTH2 instead of a password. */
    imapAccessToken: z.string().optional(),
    smtpPassword: z.string().optional(),
    smtpAccessToken: z.string().optional(),
  })
  .refine((s) => s.imapPassword || s.imapAccessToken, {
    message: 'imapPassword or imapAccessToken is required',
    path: ['imapPassword'],
  });
export type EmailInboxSecrets = z.infer<typeof EmailInboxSecrets>;
