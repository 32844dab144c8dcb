/**
 * `npm run secrets:reencrypt`: key rotation for inbox secrets.
 *   1. add the new key to SECRETS_KEYS and make it SECRETS_ACTIVE_KEY (restart services),
 *   2. run this with the same environment,
 *   3. remove the old key from SECRETS_KEYS once it reports success.
 */
// Deep imports on purpose: the package indexes pull in NestJS, which a one-shot CLI does not need.
import { createDataSource } from '@oq/database/data-source';
import { BaseConfigSchema, ConfigError, loadConfig } from '@oq/platform/config/config';
import { SecretBox } from '@oq/platform/crypto/secret-box';
import { z } from 'zod';
import { reencryptInboxSecrets } from './reencrypt';

const Schema = BaseConfigSchema.pick({ DATABASE_URL: true }).extend({
  SECRETS_KEYS: z.string().min(1),
  SECRETS_ACTIVE_KEY: z.string().min(1),
});

async function main() {
  const config = loadConfig('secrets:reencrypt', Schema);
  const box = new SecretBox(config.SECRETS_KEYS, config.SECRETS_ACTIVE_KEY);
  const ds = createDataSource({ url: config.DATABASE_URL, poolSize: 1, applicationName: 'secrets-reencrypt' });
  await ds.initialize();
  try {
    const result = await reencryptInboxSecrets(ds, box);
    console.log(
      `re-encrypted ${result.rotated} of ${result.inboxes} inbox secret sets under key ${config.SECRETS_ACTIVE_KEY}`,
    );
  } finally {
    await ds.destroy();
  }
}

main().catch((err: Error) => {
  console.error(err instanceof ConfigError ? err.message : `secrets:reencrypt failed: ${err.message}`);
  process.exit(1);
});
