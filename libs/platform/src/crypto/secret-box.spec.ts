import { SecretBox } from './secret-box';

describe('SecretBox', () => {
  const k1 = SecretBox.generateKey();
  const k2 = SecretBox.generateKey();

  it('round-trips, names its key, and never contains the plaintext', () => {
    const box = new SecretBox(`k1:${k1}`, 'k1');
    const ct = box.encrypt('{"appSecret":"shh-very-secret"}', 'inbox-1');
    expect(ct.startsWith('v1.k1.')).toBe(true);
    expect(ct).not.toContain('shh-very-secret');
    expect(box.decrypt(ct, 'inbox-1')).toBe('{"appSecret":"shh-very-secret"}');
  });

  it('detects tampering and a ciphertext moved to another row', () => {
    const box = new SecretBox(`k1:${k1}`, 'k1');
    const ct = box.encrypt('x', 'inbox-1');
    expect(() => box.decrypt(ct, 'inbox-2')).toThrow();
    const parts = ct.split('.');
    // Flip a bit of the ciphertext (replacing it with a fixed byte is a no-op once in 256 runs).
    const data = Buffer.from(parts[4], 'base64url');
    data[0] ^= 0x01;
    parts[4] = data.toString('base64url');
    expect(() => box.decrypt(parts.join('.'), 'inbox-1')).toThrow();
  });

  it('rotates: old ciphertexts decrypt under the keyring, new ones use the active key', () => {
    const old = new SecretBox(`k1:${k1}`, 'k1').encrypt('s');
    const box = new SecretBox(`k1:${k1},k2:${k2}`, 'k2');
    expect(box.needsRotation(old)).toBe(true);
    const fresh = box.encrypt(box.decrypt(old));
    expect(box.keyIdOf(fresh)).toBe('k2');
    expect(box.needsRotation(fresh)).toBe(false);
  });

  it('refuses bad keys', () => {
    expect(() => new SecretBox('k1:short', 'k1')).toThrow(/32 bytes/);
    expect(() => new SecretBox(`k1:${k1}`, 'k9')).toThrow(/not in SECRETS_KEYS/);
  });
});
