/** Mail shapes and IMAP loading shared by the email benchmarks (bench:email, bench:mail-corpus). */
import { randomBytes } from 'node:crypto';
import { DovecotServer } from '../../test/support/dovecot';

/** Real-world-shaped mail: 60 % plain text, 25 % HTML alternative, 15 % with a PDF-sized attachment. */
export function mixedMail(i: number, tag: string, to: string): string {
  const id = `<${tag}-${i}@customer.bench>`;
  const head = [
    `From: Customer ${i % 500} <c${i % 500}@customer.bench>`,
    `To: ${to}`,
    `Subject: Payment ${i} failed – refund please`,
    `Message-ID: ${id}`,
    'Date: Wed, 25 Nov 2026 10:00:00 +0000',
    'MIME-Version: 1.0',
  ];
  const para = 'I tried to pay at the shop but the transaction failed and my balance was still charged. '.repeat(8);
  const kind = i % 20;
  if (kind < 12) {
    return [...head, 'Content-Type: text/plain; charset=utf-8', '', para, '', para, '', 'Thanks, customer', ''].join(
      '\r\n',
    );
  }
  if (kind < 17) {
    const html = `<html><body><p>${para}</p><p><a href="https://bank.example/tx/${i}">transaction</a></p><img src="https://tracker.example/${i}.gif"><blockquote>${para}</blockquote></body></html>`;
    return [
      ...head,
      'Content-Type: multipart/alternative; boundary="alt"',
      '',
      '--alt',
      'Content-Type: text/plain; charset=utf-8',
      '',
      para,
      '--alt',
      'Content-Type: text/html; charset=utf-8',
      '',
      html,
      '--alt--',
      '',
    ].join('\r\n');
  }
  const attachment = randomBytes(60_000).toString('base64').replace(/.{76}/g, '$&\r\n');
  return [
    ...head,
    'Content-Type: multipart/mixed; boundary="mix"',
    '',
    '--mix',
    'Content-Type: text/plain; charset=utf-8',
    '',
    para,
    '--mix',
    `Content-Type: application/pdf; name="statement-${i}.pdf"`,
    `Content-Disposition: attachment; filename="statement-${i}.pdf"`,
    'Content-Transfer-Encoding: base64',
    '',
    attachment,
    '--mix--',
    '',
  ].join('\r\n');
}

export async function appendParallel(
  dovecot: DovecotServer,
  address: string,
  mails: (string | Buffer)[],
  connections: number,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const client = await dovecot.client(address);
      try {
        while (next < mails.length) {
          const i = next++;
          await client.append('INBOX', mails[i]);
        }
      } finally {
        await client.logout().catch(() => undefined);
      }
    }),
  );
}
