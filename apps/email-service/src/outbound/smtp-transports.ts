import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Transporter, createTransport } from 'nodemailer';
import { EmailInbox } from '../inboxes/inbox-directory.service';

/**
 * One pooled SMTP transport per inbox, rebuilt when the inbox's settings or
 * secrets change. Pooling keeps connections open across replies, which is what
 * makes sub-second sends at 50/s possible without a handshake per mail.
 */
@Injectable()
export class SmtpTransports implements OnApplicationShutdown {
  private readonly transports = new Map<string, { version: string; transporter: Transporter }>();

  get(inbox: EmailInbox): Transporter {
    const existing = this.transports.get(inbox.id);
    if (existing && existing.version === inbox.version) return existing.transporter;
    existing?.transporter.close();
    const s = inbox.settings;
    const secrets = inbox.secrets;
    const auth = secrets.smtpAccessToken
      ? { type: 'OAuth2' as const, user: s.smtpUser ?? s.imapUser, accessToken: secrets.smtpAccessToken }
      : s.smtpUser
        ? { user: s.smtpUser, pass: secrets.smtpPassword ?? '' }
        : undefined;
    const transporter = createTransport({
      pool: true,
      maxConnections: 10,
      maxMessages: 500,
      host: s.smtpHost,
      port: s.smtpPort,
      secure: s.smtpSecure,
      auth,
      connectionTimeout: 15_000,
      greetingTimeout: 10_000,
      socketTimeout: 60_000,
    });
    this.transports.set(inbox.id, { version: inbox.version, transporter });
    return transporter;
  }

  onApplicationShutdown() {
    for (const t of this.transports.values()) t.transporter.close();
    this.transports.clear();
  }
}
