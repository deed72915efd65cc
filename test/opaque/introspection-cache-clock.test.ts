/**
 * The introspection cache (proxy/upstream/introspection-cache.ts) on a clock the test
 * moves: an entry ends at the earlier of its max age and the token's exp less
 * tokens.min_lifetime; failures are never kept, and a failed shared call is not kept for the
 * callers that joined it either; the shared claims cannot be altered.
 */
import type { JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  IntrospectionCache,
  introspectionCacheFor,
} from '../../proxy/upstream/introspection-cache.js';
import { UpstreamTokenRejected } from '../../proxy/upstream/verify-upstream.js';

const START = 1_800_000_000_000;

function setup(maxAgeMs: number, minLifetimeSec = 10) {
  let now = START;
  let calls = 0;
  const cache = new IntrospectionCache({ maxAgeMs, minLifetimeSec, now: () => now });
  const answer =
    (claims: JWTPayload | Error): (() => Promise<JWTPayload>) =>
    async () => {
      calls += 1;
      if (claims instanceof Error) throw claims;
      return { ...claims };
    };
  return {
    cache,
    answer,
    calls: () => calls,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const expIn = (seconds: number) => Math.floor(START / 1000) + seconds;

describe('introspection cache entries', () => {
  it('end at the max age when the token lives longer', async () => {
    const { cache, answer, calls, advance } = setup(30_000);
    const ask = answer({ client_id: 'c', exp: expIn(3600) });
    const first = await cache.claims('token', ask);
    advance(29_999);
    expect(await cache.claims('token', ask)).toBe(first);
    expect(calls()).toBe(1);
    advance(1);
    await cache.claims('token', ask);
    expect(calls()).toBe(2);
  });

  it('end at exp less tokens.min_lifetime when that comes first', async () => {
    const { cache, answer, calls, advance } = setup(3_600_000, 10);
    const ask = answer({ client_id: 'c', exp: expIn(25) });
    await cache.claims('token', ask);
    advance(14_999);
    await cache.claims('token', ask);
    expect(calls()).toBe(1);
    advance(1);
    await cache.claims('token', ask);
    expect(calls()).toBe(2);
  });

  it('are not kept for a token with no more than min_lifetime left', async () => {
    const { cache, answer, calls } = setup(30_000, 10);
    const ask = answer({ client_id: 'c', exp: expIn(10) });
    await cache.claims('token', ask);
    await cache.claims('token', ask);
    expect(calls()).toBe(2);
  });

  it('are per token', async () => {
    const { cache, answer, calls } = setup(30_000);
    const a = await cache.claims('token-a', answer({ client_id: 'a', exp: expIn(600) }));
    const b = await cache.claims('token-b', answer({ client_id: 'b', exp: expIn(600) }));
    expect([a.client_id, b.client_id]).toEqual(['a', 'b']);
    expect((await cache.claims('token-a', answer({}))).client_id).toBe('a');
    expect(calls()).toBe(2);
  });

  it('never hold a refusal, shared or not', async () => {
    const { cache, answer, calls } = setup(30_000);
    const refuse = answer(new UpstreamTokenRejected('introspection: token not active'));
    const joined = await Promise.allSettled([
      cache.claims('token', refuse),
      cache.claims('token', refuse),
      cache.claims('token', refuse),
    ]);
    expect(joined.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(calls()).toBe(1);
    const accepted = await cache.claims('token', answer({ client_id: 'c', exp: expIn(600) }));
    expect(accepted.client_id).toBe('c');
    expect(calls()).toBe(2);
  });

  it('hand out claims no caller can alter', async () => {
    const { cache, answer } = setup(30_000);
    const claims = await cache.claims(
      'token',
      answer({ client_id: 'c', exp: expIn(600), scope: 'a', nested: { list: ['x'] } }),
    );
    expect(Object.isFrozen(claims)).toBe(true);
    expect(Object.isFrozen((claims.nested as { list: string[] }).list)).toBe(true);
  });

  it('exist only with a max age above 0', () => {
    expect(introspectionCacheFor(0, 10_000, undefined)).toBeUndefined();
    expect(introspectionCacheFor(undefined, 10_000, undefined)).toBeUndefined();
    expect(introspectionCacheFor(30_000, 10_000, undefined)).toBeInstanceOf(IntrospectionCache);
  });
});
