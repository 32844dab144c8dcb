import { randomBytes, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { AgentRepository, InboxRepository, TeamRepository } from '@oq/database';
import { CONFIG, LOGGER, SecretBox } from '@oq/platform';
import { Logger } from 'pino';
import { DataSource, EntityManager } from 'typeorm';
import { hashPassword } from '../auth/password';
import { Config } from '../config';
import { InboxesService } from '../inboxes/inboxes.service';
import { decryptInboxSecrets, encryptInboxSecrets } from '../inboxes/secret-box.provider';
import { insertPolicy, insertSchedule } from '../sla/sla-admin.service';
import { DemoEndpoints, DemoInbox, demoConnection, demoInboxes } from './demo-inboxes';
import { DEMO_POLICY_NAME, DEMO_SCHEDULE_NAME, demoPolicy, demoSchedule } from './demo-sla';

/** Any constant both replicas agree on: serialises first-start work across replicas. */
const SEED_LOCK = 0x6f71_5eed;
export const DEMO_TEAM = 'Payments support';

/**
 * First start: the admin from ADMIN_EMAIL / ADMIN_PASSWORD (or a generated password,
 * shown once), and with SEED_DEMO=true a demo team and one inbox per channel.
 * Idempotent across restarts (only creates what is missing) and across replicas booting
 * together (a transaction-scoped advisory lock; the loser finds the work done).
 */
@Injectable()
export class SeedService implements OnApplicationBootstrap {
  constructor(
    private readonly ds: DataSource,
    private readonly agents: AgentRepository,
    private readonly teams: TeamRepository,
    private readonly inboxRows: InboxRepository,
    private readonly box: SecretBox,
    private readonly inboxes: InboxesService,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap() {
    const created = await this.ds.transaction(async (m) => {
      await this.agents.with(m).lockFirstStart(SEED_LOCK);
      const admin = await this.ensureAdmin(m);
      const inboxIds = this.config.SEED_DEMO ? await this.seedDemo(m) : [];
      return { admin, inboxIds };
    });
    // After commit: the password is only shown once it is really stored.
    if (created.admin) this.printAdminBanner(created.admin.email, created.admin.password);
    for (const id of created.inboxIds) await this.inboxes.announce(id);
  }

  private async ensureAdmin(m: EntityManager): Promise<{ email: string; password: string | null } | null> {
    const agents = this.agents.with(m);
    if (await agents.adminExists()) return null;
    const email = this.config.ADMIN_EMAIL;
    const password = this.config.ADMIN_PASSWORD ?? randomBytes(15).toString('base64url');
    const agentId = await agents.insertBootstrapAdmin(email, await hashPassword(password));
    if (!agentId) {
      this.logger.warn({ email }, 'no admin exists and ADMIN_EMAIL belongs to an existing agent: not promoting it');
      return null;
    }
    this.logger.info({ agentId, email }, 'bootstrap admin created');
    return { email, password: this.config.ADMIN_PASSWORD ? null : password };
  }

  /**
   * Printed straight to stdout, not through the JSON logger: log pipelines keep and ship
   * what they receive, and a password must not end up in them.
   */
  private printAdminBanner(email: string, password: string | null) {
    if (password === null) return; // configured by the operator, who already knows it
    const line = '='.repeat(72);
    process.stdout.write(
      `\n${line}\n  OneQueue admin account created\n    email:    ${email}\n    password: ${password}\n` +
        `  This password is shown only once. Log in and change it (PATCH /v1/agents/:id).\n${line}\n\n`,
    );
  }

  private async seedDemo(m: EntityManager): Promise<string[]> {
    const teamId = await this.teams.with(m).ensure(DEMO_TEAM);
    await this.agents.with(m).addAdminsToTeam(teamId);
    await this.seedDemoSla(m, teamId);
    const at: DemoEndpoints = {
      demoKey: this.config.DEMO_KEY,
      providersUrl: this.config.DEMO_PROVIDERS_URL,
      mailHost: this.config.DEMO_MAIL_HOST,
      imapPort: this.config.DEMO_IMAP_PORT,
      smtpPort: this.config.DEMO_SMTP_PORT,
    };
    const changed: string[] = [];
    for (const inbox of demoInboxes()) {
      const id = randomUUID(); // chosen first: it is the AAD of the inbox's secrets
      const connection = demoConnection(inbox, id, at);
      const inserted = await this.inboxRows.with(m).insertDemo({
        id,
        channel: inbox.channel,
        name: inbox.name,
        address: inbox.address,
        defaultTeamId: teamId,
        settings: { ...inbox.settings, ...connection?.settings },
        secrets: encryptInboxSecrets(this.box, id, connection?.secrets ?? inbox.secrets),
      });
      if (inserted) changed.push(id);
      else {
        const reconnected = await this.reconnectDemoInbox(m, inbox, at);
        if (reconnected) changed.push(reconnected);
      }
    }
    if (changed.length) this.logger.info({ teamId, inboxes: changed.length }, 'demo inboxes seeded');
    return changed;
  }

  /**
   * An existing demo inbox (or one seeded before inboxes had the flag: the demo addresses are
   * reserved example values) gets the current stand-in ports and derived secrets; the rest of its
   * settings stays as an admin left it. Writes only what differs, so a restart changes nothing.
   * Returns the id when it wrote.
   */
  private async reconnectDemoInbox(m: EntityManager, inbox: DemoInbox, at: DemoEndpoints): Promise<string | null> {
    const inboxes = this.inboxRows.with(m);
    // The insert ran into it, so it exists unless an admin deleted it since (the seed lock does not hold edits off).
    const row = await inboxes.lockByAddress(inbox.channel, inbox.address);
    if (!row) throw new Error(`demo inbox ${inbox.channel} ${inbox.address} vanished while seeding`);
    const connection = demoConnection(inbox, row.id, at);
    if (!connection) return null;
    const settings = { ...row.settings, ...connection.settings };
    const secrets = decryptInboxSecrets(this.box, row.id, row.secrets);
    const sameSecrets = Object.entries(connection.secrets).every(([k, v]) => secrets[k] === v);
    if (row.demo && sameSecrets && isDeepStrictEqual(settings, row.settings)) return null;
    await inboxes.saveDemoConnection(
      row.id,
      settings,
      encryptInboxSecrets(this.box, row.id, { ...secrets, ...connection.secrets }),
    );
    return row.id;
  }

  /** The demo team's schedule and policy (demo-sla.ts), once: an admin's later edits are kept. */
  private async seedDemoSla(m: EntityManager, teamId: string) {
    const teams = this.teams.with(m);
    const scheduleId =
      (await teams.slaScheduleIdByName(DEMO_SCHEDULE_NAME)) ?? (await insertSchedule(m, demoSchedule())).id;
    if (await teams.slaPolicyExists(DEMO_POLICY_NAME)) return;
    await insertPolicy(m, demoPolicy(teamId, scheduleId));
    this.logger.info({ teamId, scheduleId }, 'demo SLA policy seeded');
  }
}
