import { INBOX_CHANGED_CHANNEL } from '@oq/contracts';
import { TEST_REDIS_URL } from '@oq/database/testing/test-env';
import { Redis } from 'ioredis';
import { Browser, chromium } from 'playwright-core';
import { ChatStack, eventually } from './chat-stack';

/**
 * The widget in a real browser: Debian's chromium (apt-get install chromium)
 * opens chat-service's demo page, the customer sends a message, an agent
 * answers through the ticket-service API, the reply appears in the widget, and
 * a reload restores the conversation from history.
 */
describe('chat widget in a browser', () => {
  let s: ChatStack;
  let browser: Browser;
  beforeAll(async () => {
    s = await ChatStack.start({ chatInstances: 1 });
    // Allow exactly the demo page's origin, announced the way ticket-service announces inbox changes.
    const origin = new URL(s.chatUrls[0]).origin;
    await s.ds.query(
      `UPDATE inboxes SET settings = jsonb_set(settings, '{allowedOrigins}', $2::jsonb), updated_at = now() WHERE id = $1`,
      [s.inboxId, JSON.stringify([origin])],
    );
    const pub = new Redis(TEST_REDIS_URL);
    await pub.publish(INBOX_CHANGED_CHANNEL, s.inboxId);
    pub.disconnect();
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
  });

  it('sends from the demo page and shows the agent reply, also after a reload', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${s.chatUrls[0]}/widget/demo?inbox=${s.inboxId}`);
    await page.click('.launcher');
    await page.waitForSelector('.status:has-text("We are online")', { timeout: 15_000 });
    await page.fill('textarea', 'My card payment at the pharmacy failed twice');
    await page.press('textarea', 'Enter');

    const stored = await eventually(async () => {
      const rows = await s.ds.query(
        `SELECT ticket_id FROM messages WHERE text = 'My card payment at the pharmacy failed twice'`,
      );
      return rows[0];
    }, 15_000);
    const reply = await s.agentCall('POST', `/v1/tickets/${stored.ticket_id}/messages`, {
      text: 'Sorry about that! The pharmacy charge was declined, no money was taken.',
    });
    expect(reply.status).toBe(201);
    await page.waitForSelector('.msg.outbound:has-text("no money was taken")', { timeout: 15_000 });
    await eventually(async () => {
      const [m] = await s.ds.query('SELECT delivery_status FROM messages WHERE id = $1', [reply.body.id]);
      // The panel is open, so the widget sends a read receipt right away.
      return m?.delivery_status === 'read';
    });

    await page.reload();
    await page.click('.launcher');
    await page.waitForSelector('.msg.inbound:has-text("failed twice")', { timeout: 15_000 });
    await page.waitForSelector('.msg.outbound:has-text("no money was taken")', { timeout: 15_000 });
    expect(errors).toEqual([]);
  }, 60_000);
});
