import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Agent passwords: scrypt with a per-password salt. The cost parameters travel in
 * the hash string (`scrypt$N$r$p$salt$hash`), so they can be raised without invalidating
 * existing hashes: a login that verifies against weaker parameters re-hashes
 * (`needsRehash`).
 */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** OWASP Password Storage Cheat Sheet: N=2^17, r=8, p=1 — 128 MiB of memory per hash. */
export const SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });
const KEY_LEN = 32;

/**
 * Bounds for parameters read back from a stored hash: anything outside is refused
 * instead of derived, so a corrupt row cannot make one login allocate gigabytes.
 */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

/** Bytes scrypt needs (128·N·r for V plus 128·r·p for B), doubled plus 1 MiB; Node's default maxmem is 32 MiB. */
export function scryptMaxmem({ N, r, p }: ScryptParams): number {
  return 2 * 128 * (N * r + r * p) + 1024 * 1024;
}

function derive(password: string, salt: Buffer, params: ScryptParams, keyLen: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keyLen, { ...params, maxmem: scryptMaxmem(params) }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/**
 * Production code always hashes with the default `SCRYPT_PARAMS`; an explicit weaker
 * `params` exists for test fixtures that need a legacy hash (the re-hash test).
 */
export async function hashPassword(password: string, params: ScryptParams = SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, params, KEY_LEN);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

function parse(stored: string): ParsedHash | null {
  const [scheme, n, r, p, salt, hash, ...rest] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash || rest.length) return null;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  const pow2 = Number.isSafeInteger(params.N) && params.N > 1 && (params.N & (params.N - 1)) === 0;
  if (!pow2 || params.N > MAX_N) return null;
  if (!Number.isSafeInteger(params.r) || params.r < 1 || params.r > MAX_R) return null;
  if (!Number.isSafeInteger(params.p) || params.p < 1 || params.p > MAX_P) return null;
  const expected = Buffer.from(hash, 'base64url');
  if (expected.length < 16) return null;
  return { params, salt: Buffer.from(salt, 'base64url'), hash: expected };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed) return false;
  const actual = await derive(password, parsed.salt, parsed.params, parsed.hash.length);
  return actual.length === parsed.hash.length && timingSafeEqual(actual, parsed.hash);
}

/** True when the stored hash is weaker than `SCRYPT_PARAMS` (or unreadable): re-hash after the next successful login. */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  if (!parsed) return true;
  const { N, r, p } = parsed.params;
  return N < SCRYPT_PARAMS.N || r < SCRYPT_PARAMS.r || p < SCRYPT_PARAMS.p || parsed.hash.length < KEY_LEN;
}

/**
 * Verified against when the email is unknown, so a login for a non-existent agent
 * costs the same scrypt work (and memory) as a wrong password (no user enumeration by timing).
 */
export const DUMMY_PASSWORD_HASH = `scrypt$${SCRYPT_PARAMS.N}$${SCRYPT_PARAMS.r}$${SCRYPT_PARAMS.p}$${randomBytes(16).toString('base64url')}$${randomBytes(KEY_LEN).toString('base64url')}`;
