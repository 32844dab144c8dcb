import { Inject, Injectable } from '@nestjs/common';
import { AttachmentRef } from '@oq/contracts';
import { BlobStore, CONFIG, REDIS } from '@oq/platform';
import { Redis } from 'ioredis';
import { Readable } from 'node:stream';
import { Config } from '../config';
import { Customer } from '../identity/customer';

const GRANT_TTL_SECONDS = 30 * 24 * 3600;

/**
 * Customer attachments go into the shared blob store before any message refers
 * to them. A customer may attach only blobs they uploaded and download only
 * blobs they uploaded or were sent: grants are kept per customer room in Redis
 * (content addressing alone would let anyone who knows a hash read it).
 */
@Injectable()
export class AttachmentService {
  constructor(
    private readonly blobs: BlobStore,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  private grantKey(room: string, sha256: string) {
    return `${this.config.QUEUE_PREFIX}:chat:blob:${room}:${sha256}`;
  }

  async upload(customer: Customer, body: Readable, filename: string, contentType: string): Promise<AttachmentRef> {
    const stored = await this.blobs.putStream(body, this.config.CHAT_MAX_ATTACHMENT_BYTES);
    await this.grant([customer.rooms[0]], stored.sha256, stored.size);
    return { sha256: stored.sha256, size: stored.size, filename, contentType };
  }

  async grant(rooms: string[], sha256: string, size: number): Promise<void> {
    const multi = this.redis.multi();
    for (const room of rooms) multi.set(this.grantKey(room, sha256), String(size), 'EX', GRANT_TTL_SECONDS);
    await multi.exec();
  }

  /** The customer uploaded this exact blob (same hash and size). */
  async ownedBy(customer: Customer, ref: AttachmentRef): Promise<boolean> {
    const size = await this.redis.get(this.grantKey(customer.rooms[0], ref.sha256));
    return size !== null && Number(size) === ref.size && (await this.blobs.exists(ref.sha256));
  }

  async readable(customer: Customer, sha256: string): Promise<boolean> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) return false;
    const sizes = await this.redis.mget(...customer.rooms.map((r) => this.grantKey(r, sha256)));
    return sizes.some((s) => s !== null) && (await this.blobs.exists(sha256));
  }

  read(sha256: string): Readable {
    return this.blobs.read(sha256);
  }
}
