// Deep imports, as the CLI's (reencrypt-secrets.ts): the package indexes pull in the platform module.
import { InboxRepository } from '@oq/database/repositories/inboxes.repository';
import type { SecretBox } from '@oq/platform/crypto/secret-box';
import { DataSource } from 'typeorm';

export interface ReencryptResult {
  inboxes: number;
  rotated: number;
}

/**
 * Re-encrypts every inbox's secrets under the active key, in ONE transaction: either
 * every inbox moves to the new key or (one ciphertext unreadable, a crash) none does,
 * so the old key can be retired only after a run that reported success.
 * Rows are locked so a concurrent admin edit waits rather than being overwritten.
 */
export async function reencryptInboxSecrets(ds: DataSource, box: SecretBox): Promise<ReencryptResult> {
  return ds.transaction(async (m) => {
    const inboxes = new InboxRepository(m);
    const rows = await inboxes.lockAllWithSecrets();
    let rotated = 0;
    for (const row of rows) {
      if (!box.needsRotation(row.secrets)) continue;
      let plaintext: string;
      try {
        plaintext = box.decrypt(row.secrets, row.id);
      } catch (err) {
        throw new Error(`inbox ${row.id}: cannot decrypt its secrets (${(err as Error).message}); nothing was changed`);
      }
      await inboxes.setSecrets(row.id, box.encrypt(plaintext, row.id));
      rotated++;
    }
    return { inboxes: rows.length, rotated };
  });
}
