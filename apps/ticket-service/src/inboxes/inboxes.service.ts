import { randomUUID } from 'node:crypto';
import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { INBOX_CHANGED_CHANNEL, InboxConfig, InboxConfigProblem, checkInboxConfig } from '@oq/contracts';
import { InboxRepository, InboxRow } from '@oq/database';
import { LOGGER, REDIS, SecretBox } from '@oq/platform';
import { Redis } from 'ioredis';
import { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { CreateInboxBody, InboxView, UpdateInboxBody } from './inboxes.dto';
import { decryptInboxSecrets, encryptInboxSecrets } from './secret-box.provider';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Injectable()
export class InboxesService {
  constructor(
    private readonly ds: DataSource,
    private readonly inboxes: InboxRepository,
    private readonly box: SecretBox,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async list(channel?: string): Promise<InboxView[]> {
    return (await this.inboxes.list(channel)).map((r) => this.view(r));
  }

  async get(id: string): Promise<InboxView> {
    return this.view(await this.row(this.inboxes, id));
  }

  async create(body: CreateInboxBody): Promise<InboxView> {
    const settings = checkChannelConfig(body.channel, body.settings, body.secrets);
    // The id is chosen here because it is the AAD the secrets are sealed with.
    const id = randomUUID();
    const row = await this.write((inboxes) =>
      inboxes.insert({
        id,
        channel: body.channel,
        name: body.name,
        address: body.address,
        defaultTeamId: body.defaultTeamId,
        enabled: body.enabled,
        settings,
        secrets: encryptInboxSecrets(this.box, id, body.secrets),
      }),
    );
    await this.announce(id);
    this.logger.info({ inboxId: id, channel: body.channel }, 'inbox created');
    return this.view(row);
  }

  async update(id: string, body: UpdateInboxBody): Promise<InboxView> {
    const row = await this.write(async (inboxes) => {
      const current = await this.row(inboxes, id, true);
      let settings = body.settings ?? current.settings;
      let secrets = current.secrets;
      // What a write leaves must be valid — except a write that changes neither settings nor secrets
      // and leaves the inbox disabled, so an admin can always switch off an inbox stored invalid.
      if (body.settings || body.secrets || (body.enabled ?? current.enabled)) {
        const merged = decryptInboxSecrets(this.box, id, current.secrets);
        for (const [name, value] of Object.entries(body.secrets ?? {})) {
          if (value === null) delete merged[name];
          else merged[name] = value;
        }
        settings = checkChannelConfig(current.channel, settings, merged);
        if (body.secrets) secrets = encryptInboxSecrets(this.box, id, merged);
      }
      await inboxes.update(id, {
        name: body.name ?? current.name,
        address: body.address ?? current.address,
        defaultTeamId: body.defaultTeamId ?? current.default_team_id,
        enabled: body.enabled ?? current.enabled,
        settings,
        secrets,
      });
      return this.row(inboxes, id);
    });
    await this.announce(id);
    this.logger.info({ inboxId: id, fields: Object.keys(body) }, 'inbox updated');
    return this.view(row);
  }

  /** Deleting an inbox that already carried conversations would orphan history: disable it instead (409). */
  async remove(id: string): Promise<void> {
    await this.write(async (inboxes) => {
      await this.row(inboxes, id, true);
      await inboxes.delete(id);
    });
    await this.announce(id);
    this.logger.info({ inboxId: id }, 'inbox deleted');
  }

  /** What channel services receive over the internal API: secrets decrypted. */
  async configs(channel?: string): Promise<InboxConfig[]> {
    return (await this.inboxes.listInCreationOrder(channel)).map((r) => this.config(r));
  }

  async configOf(id: string): Promise<InboxConfig> {
    return this.config(await this.row(this.inboxes, id));
  }

  /** Tells every channel service replica to reload this inbox (they also refresh everything every 60 s). */
  async announce(id: string): Promise<void> {
    try {
      await this.redis.publish(INBOX_CHANGED_CHANNEL, id);
    } catch (err) {
      // The change is committed; the channel services' periodic refresh picks it up.
      this.logger.warn({ inboxId: id, err: (err as Error).message }, 'could not announce inbox change');
    }
  }

  private config(r: InboxRow): InboxConfig {
    return {
      id: r.id,
      name: r.name,
      channel: r.channel,
      address: r.address,
      defaultTeamId: r.default_team_id,
      enabled: r.enabled,
      demo: r.demo,
      settings: r.settings,
      secrets: decryptInboxSecrets(this.box, r.id, r.secrets),
    };
  }

  private view(r: InboxRow): InboxView {
    return {
      id: r.id,
      channel: r.channel,
      name: r.name,
      address: r.address,
      defaultTeamId: r.default_team_id,
      enabled: r.enabled,
      demo: r.demo,
      settings: r.settings,
      secretNames: Object.keys(decryptInboxSecrets(this.box, r.id, r.secrets)).sort(),
      createdAt: new Date(r.created_at).toISOString(),
      updatedAt: new Date(r.updated_at).toISOString(),
    };
  }

  private async row(inboxes: InboxRepository, id: string, lock = false): Promise<InboxRow> {
    if (!UUID_RE.test(id)) throw new NotFoundException('inbox not found');
    const row = await (lock ? inboxes.findForUpdate(id) : inboxes.find(id));
    if (!row) throw new NotFoundException('inbox not found');
    return row;
  }

  /** One transaction; constraint violations become the 4xx the admin can act on. */
  private async write<T>(fn: (inboxes: InboxRepository) => Promise<T>): Promise<T> {
    try {
      return await this.ds.transaction((m) => fn(this.inboxes.with(m)));
    } catch (err) {
      const pg = err as { code?: string; constraint?: string; detail?: string };
      if (pg.code === '23505') throw new ConflictException('an inbox with this channel and address already exists');
      if (pg.code === '23503' && pg.constraint === 'inboxes_default_team_id_fkey')
        throw new BadRequestException('defaultTeamId: team not found');
      if (pg.code === '23503')
        throw new ConflictException('inbox has conversations or messages; disable it instead (enabled: false)');
      throw err;
    }
  }
}

/**
 * Settings and secrets against the channel's schema (libs/contracts inbox-settings), the one the
 * channel services load them with: a mistake is a 400 naming the field now, not an inbox the
 * channel service refuses to serve later. Returns the settings to store: as sent (defaults are the
 * schema's, not the row's).
 */
function checkChannelConfig(
  channel: InboxConfig['channel'],
  settings: Record<string, unknown>,
  secrets: unknown,
): Record<string, unknown> {
  const check = checkInboxConfig({ channel, settings, secrets });
  if (!check.ok) throw invalid(check.problems);
  if (check.value.channel !== 'chat' || settings.businessHours === undefined) return settings;
  // #17: chat's old business-hours shape is accepted for one release and stored as sent, so a
  // replica of the previous release can still read what this one writes during a rolling deploy
  // (1764000015000-ChatBusinessHours rewrites stored rows in the release after). Old hours without
  // any interval (never open) read as no hours at all: refused here rather than stored as "always open".
  if (!check.value.settings.businessHours)
    throw invalid([
      { path: 'settings.businessHours.weekly', message: 'a schedule needs at least one weekly interval' },
    ]);
  return settings;
}

function invalid(problems: InboxConfigProblem[]): BadRequestException {
  return new BadRequestException({
    statusCode: 400,
    error: 'Bad Request',
    message: problems.map((p) => `${p.path}: ${p.message}`).join('; '),
    fields: problems,
  });
}
