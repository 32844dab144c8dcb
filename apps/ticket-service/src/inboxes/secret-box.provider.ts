import { Provider } from '@nestjs/common';
import { CONFIG, SecretBox } from '@oq/platform';
import { Config } from '../config';

/** The keyring for inbox secrets at rest (SECRETS_KEYS / SECRETS_ACTIVE_KEY; no default key). */
export const secretBoxProvider: Provider = {
  provide: SecretBox,
  inject: [CONFIG],
  useFactory: (config: Config) => new SecretBox(config.SECRETS_KEYS, config.SECRETS_ACTIVE_KEY),
};

/** Secrets are bound to their inbox: the id is the AAD, so a ciphertext copied to another inbox fails to decrypt. */
export function encryptInboxSecrets(box: SecretBox, inboxId: string, secrets: Record<string, string>): string | null {
  return Object.keys(secrets).length ? box.encrypt(JSON.stringify(secrets), inboxId) : null;
}

export function decryptInboxSecrets(
  box: SecretBox,
  inboxId: string,
  ciphertext: string | null,
): Record<string, string> {
  return ciphertext ? (JSON.parse(box.decrypt(ciphertext, inboxId)) as Record<string, string>) : {};
}
