import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { InboundMessage } from '@oq/contracts';
import { createTestDatabase, dropQueuePrefix, testQueuePrefix, TestDatabase } from '@oq/database/testing/test-env';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DovecotServer } from '../../../../test/support/dovecot';
import { freePort } from '../../../../test/support/redis-server';
import { ImapSupervisor } from '../imap/imap-supervisor.service';
import {
  InboxApiStub,
  QueueProbe,
  emailInbox,
  emailServiceEnv,
  startEmailService,
  until,
  waitForMailbox,
} from '../testing/email-test-kit';
import { RedisLease } from '@oq/platform';

const USER = 'leased@example.test';
const PASS = 'pw';
const INBOX = randomUUID();
const TTL = 3000;
const ROOT = join(__dirname, '..', '..', '..', '..');

const mail = (n: number) =>
  [`From: c${n}@example.org`, `To: ${USER}`, `Subject: s${n}`, `Message-ID: <lease${n}.${INBOX}@x>`, '', `b${n}`].join(
    '\r\n',
  );

describe('one IMAP connection per mailbox across replicas', () => {
  let dovecot: DovecotServer;
  let api: InboxApiStub;
  let db: TestDatabase;
  let probe: QueueProbe;
  let holder: ChildProcess | undefined;
  let replica: NestFastifyApplication | undefined;
  const prefix = testQueuePrefix();
  const leaseKey = `${prefix}:email:imap-lease:${INBOX}`;
  const legacyLeaseKey = `${prefix}email-imap-lease:${INBOX}`;

  beforeAll(async () => {
    [dovecot, api, db] = await Promise.all([
      DovecotServer.start({ [USER]: PASS }),
      InboxApiStub.start(),
      createTestDatabase(),
    ]);
    api.inboxes = [emailInbox(INBOX, USER, { port: dovecot.port, user: USER, password: PASS })];
    probe = new QueueProbe(prefix);
  });

  afterAll(async () => {
    holder?.kill('SIGKILL');
    await replica?.close();
    await probe.close();
    await Promise.all([dovecot.destroy(), api.stop(), db.drop(), dropQueuePrefix(prefix)]);
  });

  const externalIds = async () =>
    (await probe.inboundJobs()).map((j) => (j.data as InboundMessage).email!.messageId!).sort();

  it('a second replica takes over within TTL + 2 s after the holder is SIGKILLed, without duplicates', async () => {
    const env = emailServiceEnv(db, prefix, api, {
      EMAIL_LEASE_TTL_MS: String(TTL),
      EMAIL_SERVICE_PORT: String(await freePort()),
      HOST: '127.0.0.1',
    });
    holder = spawn(process.execPath, [join(ROOT, 'scripts', 'run-ts.cjs'), 'apps/email-service/src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    const holderPid = holder.pid!;
    await until(
      async () => ((await probe.redis.get(leaseKey)) ?? '').includes(`-${holderPid}-`),
      60_000,
      'child holds the lease',
    );

    // The second replica starts while the lease is held: it must stay off the mailbox.
    replica = await startEmailService({ ...env, EMAIL_SERVICE_PORT: '0' });
    const supervisor = replica.get(ImapSupervisor);
    await dovecot.append(USER, [mail(1)]);
    await until(async () => (await externalIds()).length === 1, 10_000, 'holder imports mail 1');
    expect(supervisor.held()).toHaveLength(0);

    const killedAt = Date.now();
    holder.kill('SIGKILL');
    await dovecot.append(USER, [mail(2)]);
    await until(() => supervisor.held().length === 1, TTL + 2000, 'takeover');
    expect(Date.now() - killedAt).toBeLessThanOrEqual(TTL + 2000);
    expect(await probe.redis.get(leaseKey)).toBe(supervisor.replicaId);
    expect(await probe.redis.get(legacyLeaseKey)).toBe(supervisor.replicaId);

    await waitForMailbox(replica);
    await until(async () => (await externalIds()).length === 2, 5000, 'mail 2 after takeover');
    expect(await externalIds()).toEqual([`<lease1.${INBOX}@x>`, `<lease2.${INBOX}@x>`]);

    // A clean shutdown hands the mailbox over at once instead of after the TTL.
    await replica.close();
    replica = undefined;
    expect(await probe.redis.get(leaseKey)).toBeNull();
    expect(await probe.redis.get(legacyLeaseKey)).toBeNull();
  }, 120_000);

  it('a lease is renewed only by its holder and reports its loss', async () => {
    const key = `${prefix}lease-unit:${randomUUID()}`;
    const lost: string[] = [];
    const a = new RedisLease(probe.redis, { key }, 'a', 600, (r) => lost.push(r));
    const b = new RedisLease(probe.redis, { key }, 'b', 600, () => undefined);
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    // Letting more than the 600 ms TTL pass is the scenario, not a wait for something to happen: had
    // the holder not renewed, Redis would have expired the key by now (its TTL is exact).
    await new Promise((r) => setTimeout(r, 1000));
    expect(await probe.redis.get(key)).toBe('a'); // renewed past its TTL
    await probe.redis.set(key, 'intruder');
    await until(() => lost.length === 1, 2000, 'loss reported');
    expect(a.isHeld).toBe(false);
    await a.release();
    expect(await probe.redis.get(key)).toBe('intruder'); // not ours: left alone
  });

  it('holds a renamed lease under both names, so the previous release never holds it beside us', async () => {
    const key = `${prefix}:test:lease:${randomUUID()}`;
    const legacy = `${prefix}lease-old:${randomUUID()}`;
    // A replica of the previous release holds the old name: this release must not take the lease.
    await probe.redis.set(legacy, 'old-replica', 'PX', 5000);
    const ours = new RedisLease(probe.redis, { key, legacyKeys: [legacy] }, 'new', 5000, () => undefined);
    expect(await ours.acquire()).toBe(false);
    expect(await probe.redis.exists(key)).toBe(0);
    await probe.redis.del(legacy);
    expect(await ours.acquire()).toBe(true);
    // Now the old release's SET NX on its name fails: we hold it too.
    expect(await probe.redis.set(legacy, 'old-replica', 'PX', 5000, 'NX')).toBeNull();
    await ours.release();
    expect(await probe.redis.exists(key, legacy)).toBe(0);

    // A turn: one claimer per TTL, never renewed.
    const turn = { key: `${prefix}:test:turn:${randomUUID()}` };
    const claims = await Promise.all(['a', 'b', 'c'].map((o) => RedisLease.claimTurn(probe.redis, turn, o, 5000)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await probe.redis.pttl(turn.key)).toBeGreaterThan(4000);
  });
});
