import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createDataSource } from '@oq/database';
import { createTestDatabase, TestDatabase } from '@oq/database/testing/test-env';
import { SecretBox } from '@oq/platform';
import { DataSource } from 'typeorm';
import { encryptInboxSecrets } from '../inboxes/secret-box.provider';
import { reencryptInboxSecrets } from './reencrypt';

const OLD = `old:${SecretBox.generateKey()}`;
const NEW = `new:${SecretBox.generateKey()}`;
const ROOT = join(__dirname, '../../../..');

describe('secrets:reencrypt rotates every inbox secret to the active key', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const inboxes: { id: string; secrets: Record<string, string> }[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
    const [team] = await ds.query(`INSERT INTO teams (name) VALUES ('T') RETURNING id`);
    const oldBox = new SecretBox(OLD, 'old');
    for (let i = 0; i < 3; i++) {
      const id = randomUUID();
      const secrets = { botToken: `${i}:token-${randomUUID()}`, webhookSecret: `hook-${i}` };
      inboxes.push({ id, secrets });
      await ds.query(
        `INSERT INTO inboxes (id, channel, name, address, default_team_id, secrets) VALUES ($1, 'telegram', 'bot', $2, $3, $4)`,
        [id, `bot${i}`, team.id, encryptInboxSecrets(oldBox, id, secrets)],
      );
    }
    // An inbox without secrets is left alone.
    await ds.query(
      `INSERT INTO inboxes (channel, name, address, default_team_id) VALUES ('chat', 'widget', 'app', $1)`,
      [team.id],
    );
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  const raw = async () =>
    new Map<string, string>(
      (await ds.query('SELECT id, secrets FROM inboxes WHERE secrets IS NOT NULL')).map(
        (r: { id: string; secrets: string }) => [r.id, r.secrets],
      ),
    );

  it('changes nothing when one ciphertext cannot be read (single transaction)', async () => {
    const before = await raw();
    const unknownKeyOnly = new SecretBox(NEW, 'new'); // cannot read "old" ciphertexts at all
    await expect(reencryptInboxSecrets(ds, unknownKeyOnly)).rejects.toThrow(/cannot decrypt its secrets/);
    expect(await raw()).toEqual(before);

    // One tampered row among readable ones: still all-or-nothing.
    const [victim] = inboxes;
    const tampered = before.get(victim.id)!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    await ds.query('UPDATE inboxes SET secrets = $2 WHERE id = $1', [victim.id, tampered]);
    await expect(reencryptInboxSecrets(ds, new SecretBox(`${OLD},${NEW}`, 'new'))).rejects.toThrow(victim.id);
    const after = await raw();
    for (const { id } of inboxes.slice(1)) expect(after.get(id)).toMatch(/^v1\.old\./);
    await ds.query('UPDATE inboxes SET secrets = $2 WHERE id = $1', [victim.id, before.get(victim.id)]);
  });

  it('runs as a CLI (npm run secrets:reencrypt) and is a no-op the second time', async () => {
    const run = () =>
      promisify(execFile)('node', ['scripts/run-ts.cjs', 'apps/ticket-service/src/cli/reencrypt-secrets.ts'], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: db.url, SECRETS_KEYS: `${OLD},${NEW}`, SECRETS_ACTIVE_KEY: 'new' },
      });
    const first = await run();
    expect(first.stdout).toContain('re-encrypted 3 of 3 inbox secret sets under key new');

    const rows = await raw();
    const newOnly = new SecretBox(NEW, 'new'); // the old key can now be retired
    for (const { id, secrets } of inboxes) {
      expect(rows.get(id)).toMatch(/^v1\.new\./);
      expect(JSON.parse(newOnly.decrypt(rows.get(id)!, id))).toEqual(secrets);
    }
    expect(await reencryptInboxSecrets(ds, new SecretBox(`${OLD},${NEW}`, 'new'))).toEqual({ inboxes: 3, rotated: 0 });
    expect(await raw()).toEqual(rows);
  }, 60000);

  it('names a missing key configuration instead of guessing', async () => {
    const err = await promisify(execFile)(
      'node',
      ['scripts/run-ts.cjs', 'apps/ticket-service/src/cli/reencrypt-secrets.ts'],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, DATABASE_URL: db.url },
      },
    ).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/SECRETS_KEYS is required but not set/);
  }, 60000);
});
