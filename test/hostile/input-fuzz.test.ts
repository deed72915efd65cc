/**
 * Fuzzing what a client controls (fast-check): the token request body (form and JSON, any bytes),
 * the scope parameter, and narrowing of whatever scopes come out. No exception but an OAuth
 * error escapes, repeated members are always found, and nothing is issued that no granted scope
 * covers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTokenRequestBody } from '../../proxy/http/body.js';
import { duplicateJsonKey } from '../../proxy/http/json-duplicates.js';
import { OAuthError } from '../../proxy/http/oauth-error.js';
import { ScopeDecider } from '../../proxy/scope/decider.js';
import { isScopeToken, parseScopeParameter } from '../../proxy/scope/grammar.js';
import { ScopePolicies } from '../../proxy/scope/policies.js';

const RUNS = { numRuns: 400 };

/** Runs `action`; anything thrown must be a 4xx OAuthError. */
function onlyOAuthErrors(action: () => unknown): void {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthError);
    expect((error as OAuthError).status).toBeGreaterThanOrEqual(400);
    expect((error as OAuthError).status).toBeLessThan(500);
  }
}

/** Text made of the characters that matter to the parsers, plus anything else. */
const parserText = fc.oneof(
  fc.string({ unit: fc.constantFrom('"', '\\', '{', '}', '[', ']', ':', ',', 'a', ' ', 'u', '0') }),
  fc.string({ unit: fc.constantFrom('&', '=', '%', '+', 'a', '2', 'F', ';', ' ') }),
  fc.string({ unit: 'binary' }),
  fc.json(),
);

describe('body parsing never throws anything but an OAuth error', () => {
  it.each(['form', 'json'] as const)('%s', (kind) => {
    fc.assert(
      fc.property(parserText, (text) => {
        onlyOAuthErrors(() => parseTokenRequestBody(Buffer.from(text), kind));
      }),
      RUNS,
    );
  });

  it('raw bytes (invalid UTF-8 included)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom('form', 'json'),
        (bytes, kind) => {
          onlyOAuthErrors(() => parseTokenRequestBody(Buffer.from(bytes), kind as 'form' | 'json'));
        },
      ),
      RUNS,
    );
  });
});

describe('repeated JSON members are always found', () => {
  const name = fc.string({ unit: fc.constantFrom('a', 'b', '"', '\\', 'é', ' '), maxLength: 3 });
  const entries = fc.array(fc.tuple(name, fc.oneof(fc.string(), fc.integer(), fc.constant(null))), {
    maxLength: 6,
  });

  it('reports a repeat exactly when a name repeats, however it is escaped', () => {
    fc.assert(
      fc.property(entries, fc.boolean(), (members, escapeAll) => {
        const encodeName = (member: string) =>
          escapeAll
            ? `"${[...member].map((char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`
            : JSON.stringify(member);
        const text = `{${members.map(([key, value]) => `${encodeName(key)} : ${JSON.stringify(value)}`).join(',')}}`;
        const names = members.map(([key]) => key);
        const repeats = new Set(names).size !== names.length;
        expect(duplicateJsonKey(text) !== undefined).toBe(repeats);
        // Nested one level down, the answer is the same.
        expect(duplicateJsonKey(`[1,{"x":${text}}]`) !== undefined).toBe(repeats);
      }),
      RUNS,
    );
  });

  it('never throws on any text', () => {
    fc.assert(
      fc.property(parserText, (text) => {
        duplicateJsonKey(text);
      }),
      RUNS,
    );
  });
});

describe('scope parsing', () => {
  const scopeText = fc.string({
    unit: fc.constantFrom('a', 'b', '.', '*', ' ', '"', '\\', 'é', '\t', '~'),
  });

  it('accepts exactly the RFC 6749 §3.3 grammar and keeps every token once', () => {
    fc.assert(
      fc.property(scopeText, (text) => {
        const parsed = parseScopeParameter(text);
        const tokens = text.split(' ');
        const grammatical = tokens.every((token) => token !== '' && isScopeToken(token));
        expect(parsed.ok).toBe(grammatical);
        if (parsed.ok) expect(parsed.scopes).toEqual([...new Set(tokens)]);
      }),
      RUNS,
    );
  });
});

/** Cloudentity matching (design.md), written independently of proxy/scope: the oracle. */
function matches(template: string, scope: string): boolean {
  const t = template.split('.');
  const s = scope.split('.');
  for (let i = 0; i < t.length; i++) {
    const segment = t[i];
    if (i === t.length - 1 && segment === '*')
      return s.length > i && s.slice(i).every((x) => x !== '');
    if (i >= s.length) return false;
    if (segment === '*' ? s[i] === '' : segment !== s[i]) return false;
  }
  return t.length === s.length;
}

describe('narrowing whatever the parsers let through', () => {
  const segment = fc.constantFrom('a', 'b', 'read', '*', 'x*', '', 'é');
  const rawScope = fc
    .array(segment, { minLength: 1, maxLength: 3 })
    .map((parts) => parts.join('.'));

  it('never throws and never issues a scope no granted scope covers', () => {
    const decider = new ScopeDecider(new ScopePolicies([]));
    fc.assert(
      fc.property(
        fc.array(rawScope, { maxLength: 6 }),
        fc.array(rawScope, { maxLength: 6 }),
        (asked, grants) => {
          const parsed = parseScopeParameter(asked.join(' '));
          const requested = parsed.ok ? parsed.scopes : undefined;
          const granted = grants.filter(isScopeToken);
          const decision = decider.decide({
            requested,
            granted,
            clientId: undefined,
            grantType: 'client_credentials',
            audience: [],
            claims: {},
          });
          for (const scope of decision.issued) {
            const covered = granted.some((grant) => grant === scope || matches(grant, scope));
            expect(covered, `${scope} issued from [${granted.join(' ')}]`).toBe(true);
            if (requested !== undefined) expect(requested).toContain(scope);
          }
        },
      ),
      RUNS,
    );
  });
});
