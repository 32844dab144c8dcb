import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Agent passwords: scrypt with a per-password salt. The cost parameters travel in
 * the hash string (`scrypt$N$r$p$salt$hash`), so they can be raised later without
 * invalidating existing hashes.
 */
const N = 16384;
const R = 8;
const P = 1;
const KEY_LEN = 32;

function derive(password: string, salt: Buffer, n: number, r: number, p: number, keyLen: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keyLen, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P, KEY_LEN);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), +n, +r, +p, expected.length);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Verified against when the email is unknown, so a login for a non-existent agent
 * costs the same scrypt work as a wrong password (no user enumeration by timing).
 */
export const DUMMY_PASSWORD_HASH = `scrypt$${N}$${R}$${P}$${randomBytes(16).toString('base64url')}$${randomBytes(KEY_LEN).toString('base64url')}`;
