const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The demo page: a plausible wallet help centre with the widget embedded by its one script tag. */
export function demoPage(inboxId: string, inboxName: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Wallet help centre — chat demo</title>
<style>
  body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; background: #fff; }
  .top { background: #0d1117; color: #fff; padding: 16px 24px; font-weight: 600; }
  main { max-width: 720px; margin: 32px auto; padding: 0 24px; line-height: 1.55; }
  h1 { font-size: 28px; }
  .card { border: 1px solid #d0d7de; border-radius: 8px; padding: 16px; margin: 12px 0; }
  .muted { color: #57606a; font-size: 14px; }
</style>
</head>
<body>
<div class="top">PayWallet · Help centre</div>
<main>
  <h1>How can we help?</h1>
  <div class="card"><b>A payment failed but money left my account</b><br>Failed transfers are usually reversed within 3 working days.</div>
  <div class="card"><b>I want a refund</b><br>Open the transaction in the app and tap “Request refund”.</div>
  <div class="card"><b>Someone else is using my account</b><br>Chat with us right away — we can freeze your wallet.</div>
  <p class="muted">Chat inbox: ${esc(inboxName)}. The chat button is at the bottom right.</p>
</main>
<script src="/widget/widget.js" data-inbox="${esc(inboxId)}" data-title="PayWallet support"></script>
</body>
</html>`;
}
