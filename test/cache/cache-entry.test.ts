/**
 * A kept upstream answer is judged by the reader's rules, whoever wrote it: its age against the
 * reader's max_ttl, the token's remaining lifetime against the reader's margin and min_lifetime.
 * Table-driven over cache-entry.ts, then through UpstreamTokenCache with an injected clock (an
 * entry written under a 10-minute max_ttl, read under 1 second).
 */
import { describe, expect, it } from 'vitest';
import {
  packEntry,
  type ReaderRules,
  unpackEntry,
  usableUntil,
} from '../../proxy/upstream/token-cache/cache-entry.js';
import { UpstreamTokenCache } from '../../proxy/upstream/token-cache/upstream-token-cache.js';

const T0 = 1_800_000_000_000;
const MIN = 60_000;
const WRITER: ReaderRules = {
  maxAgeMs: 10 * MIN,
  minRemainingMs: 30_000,
  clockToleranceMs: 30_000,
};
const body = Buffer.from('{"access_token":"x","expires_in":3600}');

describe('usableUntil: the reader decides', () => {
  const entry = { writtenAt: T0, tokenExpiresAt: T0 + 60 * MIN, body };
  it.each<[string, ReaderRules, number, boolean]>([
    ['writer rules, fresh', WRITER, T0 + 1000, true],
    ['writer rules, 9 minutes old', WRITER, T0 + 9 * MIN, true],
    ['writer rules, past max_ttl', WRITER, T0 + 10 * MIN, false],
    ['reader max_ttl 1s, 999 ms old', { ...WRITER, maxAgeMs: 1000 }, T0 + 999, true],
    ['reader max_ttl 1s, 1 s old', { ...WRITER, maxAgeMs: 1000 }, T0 + 1000, false],
    ['reader max_ttl 1s, 5 minutes old', { ...WRITER, maxAgeMs: 1000 }, T0 + 5 * MIN, false],
    ['reader max_ttl 0', { ...WRITER, maxAgeMs: 0 }, T0, false],
    [
      'reader needs 59 min left, has 59m30s',
      { ...WRITER, minRemainingMs: 59 * MIN },
      T0 + 30_000,
      true,
    ],
    [
      'reader needs 59 min left, has 58 min',
      { ...WRITER, minRemainingMs: 59 * MIN },
      T0 + 2 * MIN,
      false,
    ],
    [
      'reader needs more than the token ever had',
      { ...WRITER, minRemainingMs: 61 * MIN },
      T0,
      false,
    ],
    ['written 10 s ahead of the reader (within tolerance)', WRITER, T0 - 10_000, true],
    ['written 31 s ahead of the reader (beyond tolerance)', WRITER, T0 - 31_000, false],
  ])('%s', (_label, rules, now, usable) => {
    expect(usableUntil(entry, rules, now) > now).toBe(usable);
  });
});

describe('entry layout', () => {
  it('round-trips', () => {
    const entry = { writtenAt: T0, tokenExpiresAt: T0 + MIN, body };
    expect(unpackEntry(packEntry(entry))).toEqual(entry);
  });

  it.each([
    ['nothing', undefined],
    [
      'a header without a body',
      packEntry({ writtenAt: T0, tokenExpiresAt: T0, body }).subarray(0, 17),
    ],
    // The previous layout: expiry (float64) then the body, no format byte.
    ['the previous layout', Buffer.concat([Buffer.from([0x42, 0x7a, 0, 0, 0, 0, 0, 0]), body])],
    [
      'a NaN write time',
      (() => {
        const packed = packEntry({ writtenAt: T0, tokenExpiresAt: T0, body });
        packed.writeDoubleBE(Number.NaN, 1);
        return packed;
      })(),
    ],
  ])('%s is not an entry', (_label, packed) => {
    expect(unpackEntry(packed)).toBeUndefined();
  });
});

describe('UpstreamTokenCache applies the rules given on each read', () => {
  const settings = {
    backend: 'memory' as const,
    key: 'unit-test-cache-key-0123456789abcdef0123',
    max_ttl: 10 * MIN,
    expiry_margin: 30_000,
    max_entries: 10,
  };

  it('an entry kept under max_ttl 10m is not served to a reader with max_ttl 1s once 1 s old', async () => {
    let now = T0;
    const cache = new UpstreamTokenCache(settings, undefined, undefined, () => now);
    const key = cache.keyFor('material');
    expect(await cache.put(key, body, (T0 + 60 * MIN) / 1000, WRITER)).toBe(true);
    const shortened = { ...WRITER, maxAgeMs: 1000 };
    now = T0 + 500;
    expect(await cache.get(key, shortened)).toEqual(body);
    now = T0 + 1000;
    expect(await cache.get(key, shortened)).toBeUndefined();
    // The writer's own rules still accept it: the entry is there, the reader refuses it.
    expect(await cache.get(key, WRITER)).toEqual(body);
    await cache.close();
  });

  it('keeps nothing the writer itself could not serve', async () => {
    const cache = new UpstreamTokenCache(settings, undefined, undefined, () => T0);
    const key = cache.keyFor('material');
    // 20 s left, 30 s margin.
    expect(await cache.put(key, body, (T0 + 20_000) / 1000, WRITER)).toBe(false);
    expect(await cache.get(key, WRITER)).toBeUndefined();
    await cache.close();
  });
});
