import type { ReceiptState, SentRecord } from './server';

/** Everything interpolated into the page goes through this: texts come from agents and customers. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** The page's Content-Security-Policy: no scripts, no external anything, only the inline style below. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/** GET / on the fake: what was sent, newest first, reloading itself every 2 s. Self-contained, no scripts. */
export function renderSentPage(records: SentRecord[], info: { max: number; graphVersion: string }): string {
  const rows = records.map(row).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="2">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OneQueue demo · fake providers</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1f2328; }
  h1 { font-size: 1.2rem; margin: 0 0 .25rem; }
  p.sub { margin: 0 0 1rem; color: #59636e; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; vertical-align: top; padding: .4rem .6rem; border-bottom: 1px solid #d1d9e0; }
  th { background: #f6f8fa; font-weight: 600; }
  td.text { white-space: pre-wrap; word-break: break-word; max-width: 36rem; }
  code { font-size: 12px; word-break: break-all; }
  .ch { font-weight: 600; text-transform: capitalize; }
  .kind { display: inline-block; font-size: 11px; padding: 0 .35rem; border-radius: .6rem; background: #ddf4ff; }
  .att { color: #59636e; }
  .ok { color: #1a7f37; } .wait { color: #9a6700; } .bad { color: #d1242f; } .none { color: #59636e; }
</style>
</head>
<body>
<h1>Fake providers: messages social-service sent</h1>
<p class="sub">Meta Graph API ${escapeHtml(info.graphVersion)} (WhatsApp, Messenger, Instagram) and Telegram Bot API,
local only. Newest first, the last ${escapeHtml(info.max)} kept; this page reloads every 2 s. Same data: <a href="sent.json">sent.json</a>.</p>
<table>
<thead><tr><th>Time</th><th>Channel</th><th>Inbox</th><th>To</th><th>Message</th><th>Provider id</th><th>Receipts</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="7" class="none">Nothing sent yet. Reply to a demo ticket on a social channel.</td></tr>'}
</tbody>
</table>
</body>
</html>
`;
}

function row(r: SentRecord): string {
  const attachments = r.attachments
    .map(
      (a) => `<div class="att">📎 ${escapeHtml(a.filename)}${a.bytes !== undefined ? ` (${size(a.bytes)})` : ''}</div>`,
    )
    .join('');
  return `<tr>
<td title="${escapeHtml(r.at)}">${escapeHtml(r.at.slice(11, 23))}</td>
<td class="ch">${escapeHtml(r.channel)}</td>
<td title="${escapeHtml(r.inboxId)}"><code>${escapeHtml(r.inboxId.slice(0, 8))}</code><br><code>${escapeHtml(r.account)}</code></td>
<td><code>${escapeHtml(r.recipient)}</code></td>
<td class="text"><span class="kind">${escapeHtml(r.kind)}</span> ${escapeHtml(r.text ?? '')}${attachments}</td>
<td><code>${escapeHtml(r.messageId)}</code></td>
<td>${receipts(r.receipts)}</td>
</tr>`;
}

function receipts(list: ReceiptState[] | null): string {
  if (!list) return '<span class="none">none (the Bot API has no receipts)</span>';
  return list
    .map((s) => {
      const cls = s.webhook === 'accepted' ? 'ok' : s.webhook === 'failed' ? 'bad' : 'wait';
      const mark = { accepted: '✓', failed: '✗', retrying: '↻', posting: '…', scheduled: '…' }[s.webhook];
      const title = [
        s.postedAt ? `posted ${s.postedAt}` : 'not posted yet',
        s.attempts ? `${s.attempts} attempt(s)` : '',
        s.lastError ?? '',
      ]
        .filter(Boolean)
        .join(' · ');
      return `<div class="${cls}" title="${escapeHtml(title)}">${escapeHtml(s.status)} ${mark}</div>`;
    })
    .join('');
}

function size(bytes: number): string {
  return bytes < 1024
    ? `${bytes} B`
    : bytes < 1024 * 1024
      ? `${(bytes / 1024).toFixed(1)} KB`
      : `${(bytes / 1048576).toFixed(1)} MB`;
}
