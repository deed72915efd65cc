/**
 * The two keys of the upstream token cache, derived from the one configured secret with HKDF:
 * one HMACs cache keys (so neither client secrets nor client ids appear in a key), the other
 * encrypts entries kept outside the process (AES-256-GCM). Replicas given the same secret derive
 * the same keys, which is what lets them share entries.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

const SALT = 'scopegate upstream token cache v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class CacheSecrets {
  private readonly hmacKey: Buffer;
  private readonly encryptionKey: Buffer;

  constructor(secret: string) {
    this.hmacKey = Buffer.from(hkdfSync('sha256', secret, SALT, 'hmac-sha256 cache keys', 32));
    this.encryptionKey = Buffer.from(hkdfSync('sha256', secret, SALT, 'aes-256-gcm entries', 32));
  }

  /** base64url HMAC-SHA256 of `material`. */
  keyFor(material: string): string {
    return createHmac('sha256', this.hmacKey).update(material).digest('base64url');
  }

  /**
   * iv || ciphertext || tag. The entry's key is authenticated with it, so an entry copied to
   * another key (by anyone who can write to the store) does not decrypt there.
   */
  seal(key: string, plaintext: Buffer): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    cipher.setAAD(Buffer.from(key));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]);
  }

  /** The plaintext, or undefined when the entry is not one this secret sealed for `key`. */
  open(key: string, sealed: Buffer): Buffer | undefined {
    if (sealed.length < IV_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv(
        'aes-256-gcm',
        this.encryptionKey,
        sealed.subarray(0, IV_BYTES),
      );
      decipher.setAAD(Buffer.from(key));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      return undefined;
    }
  }
}
