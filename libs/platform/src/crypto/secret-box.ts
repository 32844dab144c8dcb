import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for channel secrets at rest. The ciphertext names the key that made
 * it (`v1.<keyId>.<iv>.<tag>.<data>`, base64url), so keys can rotate: add a new key,
 * make it active, run the re-encrypt command, then retire the old one.
 * There is no default key: a service that needs one refuses to boot without it.
 */
export class SecretBox {
  private readonly keys = new Map<string, Buffer>();

  constructor(
    keyring: string,
    private readonly activeKeyId: string,
  ) {
    for (const entry of keyring
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [id, material] = entry.split(':');
      if (!id || !material || !/^[A-Za-z0-9_-]+$/.test(id))
        throw new Error('SECRETS_KEYS entries must look like <id>:<base64 key>');
      const key = Buffer.from(material, 'base64');
      if (key.length !== 32) throw new Error(`SECRETS_KEYS key ${id} must be 32 bytes (base64 of 32 random bytes)`);
      this.keys.set(id, key);
    }
    if (!this.keys.has(activeKeyId)) throw new Error(`SECRETS_ACTIVE_KEY ${activeKeyId} is not in SECRETS_KEYS`);
  }

  static generateKey(): string {
    return randomBytes(32).toString('base64');
  }

  encrypt(plaintext: string, aad = ''): string {
    const key = this.keys.get(this.activeKeyId)!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(aad));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const b = (x: Buffer) => x.toString('base64url');
    return `v1.${this.activeKeyId}.${b(iv)}.${b(cipher.getAuthTag())}.${b(data)}`;
  }

  decrypt(ciphertext: string, aad = ''): string {
    const [version, keyId, iv, tag, data] = ciphertext.split('.');
    if (version !== 'v1' || !keyId || !iv || !tag || data === undefined) throw new Error('malformed secret ciphertext');
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`secret was encrypted with unknown key ${keyId}`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }

  keyIdOf(ciphertext: string): string {
    return ciphertext.split('.')[1] ?? '';
  }

  /** True when the ciphertext is under an older key and should be re-encrypted. */
  needsRotation(ciphertext: string): boolean {
    return this.keyIdOf(ciphertext) !== this.activeKeyId;
  }
}
