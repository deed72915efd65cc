/**
 * Client secrets for token exchange are configured as scrypt hashes (`scrypt$<salt>$<key>`,
 * base64url, N=16384 r=8 p=1, 32-byte key), so a leaked config file does not leak them. The
 * comparison is constant-time; scrypt runs on the libuv pool, not on the event loop.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const KEY_LENGTH = 32;
const COST = { N: 16384, r: 8, p: 1 } as const;

function derive(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_LENGTH, COST, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** A new hash of `secret` in the configured form (tests and the README one-liner). */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt);
  return `scrypt$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** True when `secret` is the one `hash` was made from; false for any malformed hash. */
export async function secretMatches(secret: string, hash: string): Promise<boolean> {
  const [scheme, salt, key] = hash.split('$');
  if (scheme !== 'scrypt' || salt === undefined || key === undefined) return false;
  const expected = Buffer.from(key, 'base64url');
  if (expected.length !== KEY_LENGTH) return false;
  const actual = await derive(secret, Buffer.from(salt, 'base64url'));
  return timingSafeEqual(actual, expected);
}
