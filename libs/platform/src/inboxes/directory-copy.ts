import { createHash, hkdfSync } from 'node:crypto';
import { Channel, InboxConfig } from '@oq/contracts';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { SecretBox } from '../crypto/secret-box';

const Snapshot = z.object({ savedAt: z.string(), inboxes: z.array(InboxConfig) });
export type DirectorySnapshot = z.infer<typeof Snapshot>;

/** Why a stored copy was not used. */
export class DirectoryCopyUnreadable extends Error {}

/**
 * The last inbox list ticket-service answered, kept in Redis so that a channel service restarting
 * while ticket-service (or its Postgres) is down still verifies webhooks. The list carries
 * decrypted secrets, so it is sealed as a whole (AES-256-GCM, SecretBox) under a key derived
 * from SERVICE_TOKEN with HKDF: every channel service already has that token, and whoever holds
 * it can read the same secrets from `/internal/inboxes` anyway, so the key reaches no further
 * than the token does, while Redis alone (a dump, a replica, a shared instance) reveals nothing.
 * Channel services are not given SECRETS_KEYS, which would also open every inbox row in Postgres.
 * The Redis key is the additional data: a copy moved under another service's key does not open.
 * A new SERVICE_TOKEN makes an old copy unreadable (its key id no longer matches) until the next
 * successful load replaces it.
 */
export class DirectoryCopy {
  private readonly box: SecretBox;
  readonly key: string;

  constructor(
    private readonly redis: Redis,
    queuePrefix: string,
    channels: Channel[],
    serviceToken: string,
  ) {
    this.key = DirectoryCopy.keyFor(queuePrefix, channels);
    const material = Buffer.from(hkdfSync('sha256', serviceToken, 'oq-inbox-directory-copy', 'v1', 32));
    // The id names the token generation without revealing anything about the key.
    const keyId = `st${createHash('sha256').update(material).digest('hex').slice(0, 12)}`;
    this.box = new SecretBox(`${keyId}:${material.toString('base64')}`, keyId);
  }

  /** Under the service's queue prefix, per set of channels (the copy is the same whoever writes it). */
  static keyFor(queuePrefix: string, channels: Channel[]): string {
    return `${queuePrefix}:inbox-directory:${[...channels].sort().join(',')}`;
  }

  async save(inboxes: InboxConfig[]): Promise<void> {
    const snapshot: DirectorySnapshot = { savedAt: new Date().toISOString(), inboxes };
    await this.redis.set(this.key, this.box.encrypt(JSON.stringify(snapshot), this.key));
  }

  /** The stored copy, null when there is none; throws DirectoryCopyUnreadable when it cannot be opened. */
  async load(): Promise<DirectorySnapshot | null> {
    const sealed = await this.redis.get(this.key);
    if (sealed === null) return null;
    let text: string;
    try {
      text = this.box.decrypt(sealed, this.key);
    } catch (err) {
      const reason = /unknown key/.test((err as Error).message)
        ? 'it was sealed under another SERVICE_TOKEN'
        : 'it does not decrypt';
      throw new DirectoryCopyUnreadable(`inbox directory copy ${this.key} ignored: ${reason}`);
    }
    const parsed = Snapshot.safeParse(JSON.parse(text));
    if (!parsed.success) throw new DirectoryCopyUnreadable(`inbox directory copy ${this.key} ignored: malformed`);
    return parsed.data;
  }
}
