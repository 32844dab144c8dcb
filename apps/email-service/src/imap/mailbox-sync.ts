import { FetchMessageObject, ImapFlow } from 'imapflow';
import { Logger } from 'pino';
import { BlobStore } from '@oq/platform';
import { EmailInbox } from '../inboxes/inbox-directory.service';
import { FetchedMail, IngestOutcome, MailIngestService } from '../ingest/mail-ingest.service';
import { CursorStore } from './cursor.store';

export interface MailboxSyncOptions {
  maxMessageBytes: number;
  fetchBatch: number;
  fetchBatchBytes: number;
  pollFallbackMs: number;
  idleRestartMs: number;
}

export interface MailboxSyncDeps {
  cursors: CursorStore;
  ingest: MailIngestService;
  blobs: BlobStore;
  logger: Logger;
}

/**
 * One IMAP connection for one mailbox, held only while this replica holds the
 * mailbox's lease. Fetches everything above the durable UID cursor, then IDLEs;
 * every EXISTS triggers a fetch of the new UIDs. The cursor moves only after the
 * batch is enqueued, so a crash at any point means a re-fetch (deduplicated by
 * job id), never a lost mail.
 */
export class MailboxSync {
  private client?: ImapFlow;
  private stopped = false;
  private syncing?: Promise<void>;
  private again = false;
  private attempt = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private pollTimer?: NodeJS.Timeout;
  private uidValidity = 0;
  private readonly folder: string;
  /** Resolves after the first full sync following a connect (tests and the benchmark wait on it). */
  lastSyncAt = 0;

  constructor(
    readonly inbox: EmailInbox,
    private readonly deps: MailboxSyncDeps,
    private readonly options: MailboxSyncOptions,
  ) {
    this.folder = inbox.settings.folder;
  }

  start() {
    void this.connect();
    this.pollTimer = setInterval(() => this.requestSync(), this.options.pollFallbackMs);
  }

  private log() {
    return this.deps.logger.child({ inboxId: this.inbox.id, folder: this.folder });
  }

  private async connect() {
    if (this.stopped) return;
    const s = this.inbox.settings;
    const secrets = this.inbox.secrets;
    const client = new ImapFlow({
      host: s.imapHost,
      port: s.imapPort,
      secure: s.imapSecure,
      auth: secrets.imapAccessToken
        ? { user: s.imapUser, accessToken: secrets.imapAccessToken }
        : { user: s.imapUser, pass: secrets.imapPassword ?? '' },
      logger: false,
      // Re-issue IDLE before servers or NAT boxes silently drop a long one.
      maxIdleTime: this.options.idleRestartMs,
      // Enter IDLE right after our own commands finish (the default waits 15 s, and
      // EXISTS pushes only arrive while idling).
      autoIdleDelay: 50,
      connectionTimeout: 15_000,
      greetingTimeout: 10_000,
    });
    this.client = client;
    client.on('error', (err: Error) => this.log().warn({ err: err.message }, 'imap connection error'));
    client.on('close', () => {
      if (this.client === client) this.client = undefined;
      this.scheduleReconnect('connection closed');
    });
    client.on('exists', () => this.requestSync());
    try {
      await client.connect();
      const box = await client.mailboxOpen(this.folder);
      this.uidValidity = Number(box.uidValidity);
      this.attempt = 0;
      this.log().info({ uidValidity: this.uidValidity, exists: box.exists }, 'imap mailbox open');
      this.requestSync();
    } catch (err) {
      this.log().warn({ err: (err as Error).message }, 'imap connect failed');
      client.close();
    }
  }

  private scheduleReconnect(reason: string) {
    if (this.stopped || this.reconnectTimer) return;
    const delay = Math.min(30_000, 500 * 2 ** this.attempt) * (0.75 + Math.random() / 2);
    this.attempt = Math.min(this.attempt + 1, 10);
    this.log().info({ reason, delayMs: Math.round(delay) }, 'imap reconnect scheduled');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delay);
  }

  /** Coalesces EXISTS bursts: at most one sync runs, and one more is queued behind it. */
  requestSync() {
    if (this.stopped) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        try {
          await this.syncOnce();
        } catch (err) {
          this.log().warn({ err: (err as Error).message }, 'imap sync failed; reconnecting');
          // A half-done sync leaves the cursor where the last enqueued batch put it.
          this.client?.close();
          break;
        }
      } while (this.again && !this.stopped);
    })().finally(() => (this.syncing = undefined));
  }

  private async syncOnce() {
    const client = this.client;
    if (!client || !client.usable || !client.mailbox) return;
    const { cursors } = this.deps;
    const uidValidity = Number(client.mailbox.uidValidity);
    const cursor = await cursors.get(this.inbox.id, this.folder);
    let lastUid = 0;
    if (cursor && cursor.uidValidity === uidValidity) lastUid = cursor.lastUid;
    else if (cursor) {
      // UIDs of the old generation mean nothing now: re-read everything; the
      // Message-ID-based job ids and UNIQUE(inbox_id, external_id) drop what we already have.
      this.log().warn({ old: cursor.uidValidity, new: uidValidity }, 'UIDVALIDITY changed; resynchronising');
      await cursors.advance(this.inbox.id, this.folder, uidValidity, 0);
    }
    this.uidValidity = uidValidity;

    const found = await client.search({ uid: `${lastUid + 1}:*` }, { uid: true });
    // "N:*" always matches the highest UID, even one below N.
    const uids = (found || []).filter((u) => u > lastUid).sort((a, b) => a - b);
    for (let w = 0; w < uids.length && !this.stopped; w += this.options.fetchBatch) {
      const window = uids.slice(w, w + this.options.fetchBatch).join(',');
      const metas = await client.fetchAll(window, { uid: true, size: true, internalDate: true }, { uid: true });
      const parts = partsBySize(
        metas.sort((a, b) => a.uid - b.uid),
        this.options.fetchBatchBytes,
        this.options.maxMessageBytes,
      );
      // Pipelined: the next part downloads while this one is parsed and enqueued, so at most
      // two parts' mails are in memory. The cursor still advances strictly in UID order.
      let next = parts.length ? this.fetchPart(client, parts[0]) : undefined;
      for (let i = 0; i < parts.length && !this.stopped; i++) {
        const mails = await next!;
        next = i + 1 < parts.length ? this.fetchPart(client, parts[i + 1]) : undefined;
        // A failed prefetch surfaces when awaited; until then it must not be an unhandled rejection.
        next?.catch(() => undefined);
        const partUids = parts[i].map((m) => m.uid);
        await this.importMails(client, partUids, mails);
        await cursors.advance(this.inbox.id, this.folder, uidValidity, partUids[partUids.length - 1]);
      }
      await next?.catch(() => undefined);
    }
    this.lastSyncAt = Date.now();
  }

  private async fetchPart(client: ImapFlow, metas: FetchMeta[]): Promise<FetchedMail[]> {
    const small = metas.filter((m) => (m.size ?? 0) <= this.options.maxMessageBytes).map((m) => m.uid);
    const mails: FetchedMail[] = [];
    if (small.length) {
      const fetched = await client.fetchAll(
        small.join(','),
        { uid: true, size: true, internalDate: true, source: true },
        { uid: true },
      );
      for (const m of fetched) {
        mails.push({
          uid: m.uid,
          uidValidity: this.uidValidity,
          folder: this.folder,
          internalDate: toDate(m.internalDate),
          size: m.size ?? m.source?.length ?? 0,
          source: m.source,
        });
      }
    }
    for (const m of metas.filter((x) => (x.size ?? 0) > this.options.maxMessageBytes)) {
      // Never buffered: the raw source streams into the blob store.
      const head = await client.fetchOne(String(m.uid), { uid: true, headers: true }, { uid: true });
      const download = await client.download(String(m.uid), undefined, { uid: true });
      if (!('content' in download) || !download.content) throw new Error(`could not download UID ${m.uid}`);
      const stored = await this.deps.blobs.putStream(download.content);
      mails.push({
        uid: m.uid,
        uidValidity: this.uidValidity,
        folder: this.folder,
        internalDate: toDate(m.internalDate),
        size: m.size ?? stored.size,
        oversized: {
          headers: (head && head.headers) || Buffer.alloc(0),
          rawSha256: stored.sha256,
          rawSize: stored.size,
        },
      });
    }
    mails.sort((a, b) => a.uid - b.uid);
    return mails;
  }

  private async importMails(client: ImapFlow, uids: number[], mails: FetchedMail[]) {
    const outcomes: IngestOutcome[] = await Promise.all(mails.map((m) => this.deps.ingest.toInbound(this.inbox, m)));
    await this.deps.ingest.enqueue(this.inbox, mails, outcomes);
    await this.afterImport(client, uids);
  }

  private async afterImport(client: ImapFlow, uids: number[]) {
    const action = this.inbox.settings.afterImport;
    if (action === 'leave' || !uids.length) return;
    const range = uids.join(',');
    if (action === 'seen') {
      await client.messageFlagsAdd(range, ['\\Seen'], { uid: true });
      return;
    }
    const target = action.slice('move:'.length);
    const moved = await client.messageMove(range, target, { uid: true }).catch(() => false as const);
    if (moved === false) {
      await client.mailboxCreate(target).catch(() => undefined);
      await client.messageMove(range, target, { uid: true });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    await this.syncing?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    if (client) await client.logout().catch(() => client.close());
  }
}

type FetchMeta = Pick<FetchMessageObject, 'uid' | 'size' | 'internalDate'>;

/**
 * Splits a window of mails (UID order) into parts of at most maxBytes raw source each,
 * so what one fetch buffers is bounded by bytes; a larger single mail is a part alone.
 * Mails over the size limit stream to the blob store and are never buffered: they count nothing.
 */
export function partsBySize<T extends FetchMeta>(metas: T[], maxBytes: number, maxMailBytes: number): T[][] {
  const parts: T[][] = [];
  let part: T[] = [];
  let bytes = 0;
  for (const m of metas) {
    const size = (m.size ?? 0) > maxMailBytes ? 0 : (m.size ?? 0);
    if (part.length && bytes + size > maxBytes) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(m);
    bytes += size;
  }
  if (part.length) parts.push(part);
  return parts;
}

function toDate(value: Date | string | undefined): Date {
  const d = value instanceof Date ? value : value ? new Date(value) : new Date();
  return Number.isNaN(d.getTime()) ? new Date() : d;
}
