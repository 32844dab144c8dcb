import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobStore } from '@oq/platform';
import { ApiHarness } from '../tickets/api-test-harness';
import { BlobGcService } from './blob-gc.service';

describe('garbage collection of uploads no message references', () => {
  const h = new ApiHarness();
  const blobDir = mkdtempSync(join(tmpdir(), 'oq-blob-gc-'));
  let store: BlobStore;
  let gc: BlobGcService;
  let ticketId: string;
  const DAY = 24 * 3600 * 1000;

  beforeAll(async () => {
    // The timer runs every second here; the grace period keeps its default of 24 h.
    await h.start({ BLOB_DIR: blobDir, BLOB_GC_INTERVAL_SECONDS: '1' });
    store = h.app.get(BlobStore);
    gc = h.app.get(BlobGcService);
    ticketId = (await h.createTicket('alice')).id;
  }, 30_000);
  afterAll(async () => {
    await h.stop();
    rmSync(blobDir, { recursive: true, force: true });
  });

  async function upload(): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(randomBytes(64))], { type: 'application/pdf' }), 'statement.pdf');
    const res = await fetch(`${h.base}/v1/attachments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.tokens.alice}` },
      body: form,
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { sha256: string }).sha256;
  }
  /** Makes an upload look `days` old: its row and (unless told otherwise) its file. */
  async function age(sha256: string, days: number, file = true) {
    const then = new Date(Date.now() - days * DAY);
    await h.ds.query('UPDATE blobs SET uploaded_at = $2 WHERE sha256 = $1', [sha256, then]);
    if (file) utimesSync(store.pathOf(sha256), then, then);
  }
  const note = (...shas: string[]) =>
    h.call('alice', 'POST', `/v1/tickets/${ticketId}/messages`, {
      kind: 'note',
      text: 'see attached',
      attachments: shas.map((sha256) => ({ sha256 })),
    });
  const row = async (sha256: string) =>
    (await h.ds.query('SELECT referenced FROM blobs WHERE sha256 = $1', [sha256]))[0] as
      { referenced: boolean } | undefined;
  const until = async (what: () => Promise<boolean>, ms = 5000) => {
    const end = Date.now() + ms;
    while (!(await what())) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('deletes old unreferenced uploads on its timer and keeps referenced, recent and re-written ones', async () => {
    const [orphan, attached, recent, rewritten] = [await upload(), await upload(), await upload(), await upload()];
    expect((await note(attached)).status).toBe(201);
    await age(orphan, 2);
    await age(attached, 2);
    await age(recent, 0.5);
    // A row past its grace whose file was just written again (say, by a channel service ingesting the same bytes).
    await age(rewritten, 2, false);

    // The collector drops the row, then the file: wait for both, the event that proves the work.
    await until(async () => !(await row(orphan)) && !(await row(rewritten)) && !existsSync(store.pathOf(orphan)));
    expect(existsSync(store.pathOf(orphan))).toBe(false);
    expect(existsSync(store.pathOf(rewritten))).toBe(true);
    await until(async () => (await row(attached))?.referenced === true);
    expect(existsSync(store.pathOf(attached))).toBe(true);
    expect(await row(recent)).toEqual({ referenced: false });
    expect(existsSync(store.pathOf(recent))).toBe(true);

    // A collected upload can no longer be attached; uploading it again brings it back with a new grace period.
    const late = await note(orphan);
    expect(late.status).toBe(404);
    expect(late.body.message).toMatch(/attachment not found/);
    const download = await fetch(`${h.base}/v1/attachments/${attached}?ticketId=${ticketId}`, {
      headers: { authorization: `Bearer ${h.tokens.alice}` },
    });
    expect(download.status).toBe(200);
  });

  it('skips an upload a reply is attaching right now, and keeps it once the reply commits', async () => {
    const sha = await upload();
    await age(sha, 2);
    // What a reply's transaction holds between reading the blob row and committing its message.
    const reply = h.ds.createQueryRunner();
    await reply.connect();
    try {
      await reply.startTransaction();
      await reply.query('SELECT sha256 FROM blobs WHERE sha256 = $1 FOR KEY SHARE', [sha]);
      expect((await gc.collect()).removed).toBe(0);
      expect(await row(sha)).toEqual({ referenced: false });
      await reply.query(
        `INSERT INTO messages (ticket_id, direction, kind, text, attachments) VALUES ($1, 'internal', 'note', 'x', $2::jsonb)`,
        [ticketId, JSON.stringify([{ sha256: sha, size: 64, filename: 'a.pdf', contentType: 'application/pdf' }])],
      );
      await reply.commitTransaction();
    } finally {
      await reply.release();
    }
    await gc.collect();
    expect(await row(sha)).toEqual({ referenced: true });
    expect(existsSync(store.pathOf(sha))).toBe(true);
  });

  it('racing replies and collections never leave a message pointing at a missing file', async () => {
    const shas: string[] = [];
    for (let i = 0; i < 12; i++) shas.push(await upload());
    for (const sha of shas) await age(sha, 2);
    const [replies] = await Promise.all([
      Promise.all(shas.map((sha) => note(sha))),
      Promise.all([gc.collect(), gc.collect(), gc.collect()]),
    ]);
    for (const [i, sha] of shas.entries()) {
      if (replies[i].status === 201) {
        expect(await row(sha)).toBeDefined();
        expect(existsSync(store.pathOf(sha))).toBe(true);
      } else {
        expect(replies[i]).toMatchObject({
          status: 404,
          body: { message: expect.stringMatching(/attachment not found/) },
        });
        expect(await row(sha)).toBeUndefined();
      }
    }
    // Whatever the interleaving, every attachment of every message is still on disk.
    const refs: { sha256: string }[] = await h.ds.query(
      `SELECT DISTINCT a->>'sha256' AS sha256 FROM messages, jsonb_array_elements(attachments) a`,
    );
    for (const { sha256 } of refs) expect(existsSync(store.pathOf(sha256))).toBe(true);
  });
});
