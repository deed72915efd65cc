/**
 * The revoked tokens this process knows of: each revocation reference until the revoked token's
 * `exp`, when the token would be refused anyway (an ExpiringSet: bounded by count, never by
 * eviction; a full list refuses new revocations instead of forgetting earlier ones).
 */
import { ExpiringSet } from './expiring-set.js';

export class RevocationListFull extends Error {
  constructor() {
    super('the revocation list is full');
    this.name = 'RevocationListFull';
  }
}

export class RevokedInMemory extends ExpiringSet {
  constructor(maxEntries: number, now: () => number = Date.now) {
    super(maxEntries, () => new RevocationListFull(), now);
  }
}
