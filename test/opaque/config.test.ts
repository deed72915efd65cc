/**
 * The configuration of opaque tokens and token exchange: defaults, the secret from the
 * environment, and every error naming its path.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load.js';
import { hashSecret, secretMatches } from '../../proxy/endpoints/token/exchange/secret-hash.js';

const BASE = `issuer: "https://auth.example.com"
signing:
  keys:
    - kid: "k1"
      alg: ES256
      private_key_file: "k1.pem"
upstream:
  url: "https://tenant.example.com"
`;

function parse(extra: string, env: Record<string, string> = {}) {
  return parseConfigText(`${BASE}${extra}`, 'cfg.yaml', env);
}

function errorsOf(extra: string): string[] {
  const result = parse(extra);
  if (result.ok) throw new Error('expected the config to be invalid');
  return result.errors;
}

describe('opaque token and token exchange configuration', () => {
  it('defaults to JWT upstream tokens and exchange for narrowing only', () => {
    const result = parse('');
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.config.upstream.token_format).toBe('jwt');
    expect(result.config.upstream.introspection).toBeUndefined();
    expect(result.config.token_exchange).toEqual({
      enabled: true,
      client_auth: 'optional',
      accept_upstream_tokens: true,
      clients: [],
      retarget: [],
    });
  });

  it('takes the introspection secret from the environment', () => {
    const result = parse(
      `  token_format: opaque
  introspection:
    client_id: scopegate
    client_secret: "\${INTROSPECTION_SECRET}"
`,
      { INTROSPECTION_SECRET: 's3cret' },
    );
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.config.upstream.introspection).toEqual({
      client_id: 'scopegate',
      client_secret: 's3cret',
      auth_method: 'client_secret_basic',
      jwt_response: 'prefer',
      cache_max_age: 30_000,
    });
  });

  it('keeps introspection answers for cache_max_age, 0s turning the cache off', () => {
    const withAge = (age: string) =>
      parse(
        `  token_format: opaque
  introspection:
    client_id: scopegate
    client_secret: s
    cache_max_age: ${age}
`,
      );
    for (const [age, ms] of [
      ['0s', 0],
      ['5m', 300_000],
    ] as const) {
      const result = withAge(age);
      if (!result.ok) throw new Error(result.errors.join('\n'));
      expect(result.config.upstream.introspection?.cache_max_age).toBe(ms);
    }
    const refused = withAge('soon');
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.errors.join('\n')).toContain('upstream.introspection.cache_max_age');
    }
  });

  it.each([
    ['  token_format: opaque\n', 'upstream.introspection: token_format opaque needs introspection'],
    [
      '  token_format: auto\n  introspection:\n    client_id: g\n',
      'upstream.introspection: exactly one of client_secret or client_secret_file is required',
    ],
    [
      '  introspection:\n    client_id: g\n    client_secret: a\n    client_secret_file: b\n',
      'upstream.introspection: exactly one of client_secret or client_secret_file is required',
    ],
    ['  token_format: sometimes\n', 'upstream.token_format: '],
    [
      'token_exchange:\n  clients:\n    - client_id: a\n      secret_hash: plaintext\n',
      'token_exchange.clients[0].secret_hash: expected scrypt$<salt>$<key>',
    ],
    ['token_exchange:\n  client_auth: required\n', 'token_exchange.clients: client_auth required'],
    [
      'token_exchange:\n  retarget:\n    - from: a\n      to: []\n',
      'token_exchange.retarget[0].to',
    ],
    ['token_exchange:\n  colour: blue\n', 'token_exchange'],
  ])('refuses %j', (extra, expected) => {
    const errors = errorsOf(extra);
    expect(
      errors.some((error) => error.includes(expected)),
      errors.join('\n'),
    ).toBe(true);
  });

  it('hashes client secrets with scrypt and checks them', async () => {
    const hash = await hashSecret('the-secret');
    expect(hash).toMatch(/^scrypt\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(
      parse(`token_exchange:\n  clients:\n    - client_id: a\n      secret_hash: "${hash}"\n`).ok,
    ).toBe(true);
    expect(await secretMatches('the-secret', hash)).toBe(true);
    expect(await secretMatches('the-secreT', hash)).toBe(false);
    expect(await secretMatches('the-secret', 'scrypt$AAAA$short')).toBe(false);
    expect(await secretMatches('the-secret', 'bcrypt$x$y')).toBe(false);
  });
});
