/**
 * The exchange's promise, over random subject tokens and requests sent to a running gateway: an
 * exchanged token never carries a scope its subject did not cover (checked with an independent
 * oracle), an audience its subject did not have (or a configured retarget of it, for the
 * authenticated client the rule names), or a lifetime beyond the subject's. Every refusal is an
 * OAuth error.
 */
import fc from 'fast-check';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../proxy/endpoints/token/exchange/secret-hash.js';
import { closedPortUrl } from '../support/closed-port.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { basic, exchange, signWithGatewayKey } from './exchange-support.js';

const AUDIENCES = ['https://a.example', 'https://b.example', 'https://c.example'];
const RETARGET = { from: 'https://a.example', to: ['https://d.example'], clients: ['svc'] };
const MAX_LIFETIME_SEC = 600;

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway({
    // Subjects here are scopegate's own tokens: the upstream is never asked.
    upstreamUrl: await closedPortUrl(),
    admin: false,
    config: {
      tokens: { max_lifetime: `${MAX_LIFETIME_SEC}s` },
      token_exchange: {
        clients: [{ client_id: 'svc', secret_hash: await hashSecret('svc-secret') }],
        retarget: [RETARGET],
      },
    },
  });
});

afterAll(async () => {
  await gateway?.close();
});

const VALUES = ['a', 'b', 'read', '1'];
const scopeArb = fc
  .array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...VALUES) }, fc.constant('*')), {
    minLength: 1,
    maxLength: 3,
  })
  .map((segments) => segments.join('.'));

/** Independent oracle: a template as a regular expression (a trailing `*` takes the rest). */
function covers(granted: string, scope: string): boolean {
  if (granted === scope) return true;
  const segments = granted.split('.');
  const body = segments.map((segment, index) => {
    if (segment !== '*') return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return index === segments.length - 1 ? '[^.]+(?:\\.[^.]+)*' : '[^.]+';
  });
  return new RegExp(`^${body.join('\\.')}$`).test(scope);
}

const caseArb = fc.record({
  subjectScopes: fc.uniqueArray(scopeArb, { minLength: 1, maxLength: 5 }),
  subjectAudiences: fc.subarray(AUDIENCES),
  lifetimeSec: fc.integer({ min: -60, max: 7200 }),
  requestedScopes: fc.option(fc.uniqueArray(scopeArb, { minLength: 1, maxLength: 4 }), {
    nil: undefined,
  }),
  requestedAudiences: fc.subarray([...AUDIENCES, 'https://d.example']),
  authenticated: fc.boolean(),
});

function audiencesOf(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? (aud as string[]) : [];
}

describe('an exchanged token', () => {
  it('never carries a scope, audience or lifetime its subject did not', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (generated) => {
        const now = Math.floor(Date.now() / 1000);
        const subjectExp = now + generated.lifetimeSec;
        const subject = await signWithGatewayKey(gateway, 'test-key', {
          iss: 'https://gateway.test',
          sub: 'someone',
          client_id: 'app',
          scope: generated.subjectScopes.join(' '),
          ...(generated.subjectAudiences.length > 0 ? { aud: generated.subjectAudiences } : {}),
          iat: now - 120,
          exp: subjectExp,
        });
        const params: Record<string, string> = {};
        if (generated.requestedScopes) params.scope = generated.requestedScopes.join(' ');
        const body = new URLSearchParams(params);
        for (const audience of generated.requestedAudiences) body.append('resource', audience);
        const answer = await exchange(
          gateway,
          '/oauth/token',
          subject,
          Object.fromEntries(body.entries()),
          generated.authenticated ? { authorization: basic('svc', 'svc-secret') } : {},
        );
        if (answer.status !== 200) {
          expect(answer.status).toBeGreaterThanOrEqual(400);
          expect(answer.status).toBeLessThan(500);
          expect(answer.body.error).toBeTypeOf('string');
          expect(answer.body.access_token).toBeUndefined();
          return;
        }
        const claims = decodeJwt(answer.body.access_token as string);
        const issued = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
        for (const scope of issued) {
          expect(
            generated.subjectScopes.some((granted) => covers(granted, scope)),
            scope,
          ).toBe(true);
        }
        const allowed = new Set(generated.subjectAudiences);
        if (generated.authenticated && allowed.has(RETARGET.from)) {
          for (const target of RETARGET.to) allowed.add(target);
        }
        for (const audience of audiencesOf(claims.aud)) expect(allowed.has(audience)).toBe(true);
        expect(claims.exp as number).toBeLessThanOrEqual(subjectExp);
        expect(claims.exp as number).toBeLessThanOrEqual((claims.iat as number) + MAX_LIFETIME_SEC);
        expect(generated.lifetimeSec).toBeGreaterThan(-31); // beyond clock tolerance: refused
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});
