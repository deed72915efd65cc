/**
 * Client authentication settings that cannot work are refused by the configuration check, each
 * naming its path (a table); the ones that can work are accepted. And the agreement between the
 * authenticated client and the client the upstream's token names (client-auth-step.ts).
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfigText } from '../../config/load.js';
import { requireAuthenticatedClient } from '../../proxy/endpoints/token/client-auth-step.js';
import type { TokenRequest } from '../../proxy/endpoints/token/token-request.js';
import { OAuthError } from '../../proxy/http/oauth-error.js';
import { MINIMAL } from '../config/minimal-config.js';

const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const PUBLIC_JWK = publicKey.export({ format: 'jwk' });
const PRIVATE_JWK = privateKey.export({ format: 'jwk' });
const UPSTREAM_SECRET = { method: 'client_secret_basic', client_secret: 'at the upstream' };

function withClients(clients: unknown[]): string {
  return `${MINIMAL}${stringify({ clients })}`;
}

function errorsFor(client: Record<string, unknown>): string[] {
  const result = parseConfigText(withClients([client]), 'cfg.yaml', {});
  return result.ok ? [] : result.errors;
}

const REFUSED: [string, Record<string, unknown>, RegExp][] = [
  [
    'private_key_jwt without keys',
    {
      client_id: 'a',
      token_endpoint_auth_method: 'private_key_jwt',
      upstream_auth: UPSTREAM_SECRET,
    },
    /clients\[0\]\.jwks: private_key_jwt needs/,
  ],
  [
    'a private key in jwks',
    {
      client_id: 'a',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [PRIVATE_JWK] },
      upstream_auth: UPSTREAM_SECRET,
    },
    /clients\[0\]\.jwks\.keys\[0\]: a private or symmetric key \(d\)/,
  ],
  [
    'a symmetric key in jwks',
    {
      client_id: 'a',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] },
      upstream_auth: UPSTREAM_SECRET,
    },
    /private or symmetric key \(k\)/,
  ],
  [
    'both jwks and jwks_uri',
    {
      client_id: 'a',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [PUBLIC_JWK] },
      jwks_uri: 'https://client.example.com/jwks',
      upstream_auth: UPSTREAM_SECRET,
    },
    /jwks_uri: set jwks or jwks_uri, not both/,
  ],
  [
    'a plain-http jwks_uri off loopback',
    {
      client_id: 'a',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: 'http://client.example.com/jwks',
      upstream_auth: UPSTREAM_SECRET,
    },
    /jwks_uri: a client jwks_uri must be https/,
  ],
  [
    'private_key_jwt without upstream_auth',
    { client_id: 'a', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [PUBLIC_JWK] } },
    /upstream_auth: private_key_jwt is verified by scopegate/,
  ],
  [
    'client_secret_jwt without a secret',
    {
      client_id: 'a',
      token_endpoint_auth_method: 'client_secret_jwt',
      upstream_auth: UPSTREAM_SECRET,
    },
    /client_secret: client_secret_jwt needs/,
  ],
  [
    'client_secret_jwt without upstream_auth',
    { client_id: 'a', token_endpoint_auth_method: 'client_secret_jwt', client_secret: 'x' },
    /upstream_auth: client_secret_jwt is verified/,
  ],
  [
    'client_secret_basic with upstream_auth but no secret to check',
    {
      client_id: 'a',
      token_endpoint_auth_method: 'client_secret_basic',
      upstream_auth: UPSTREAM_SECRET,
    },
    /client_secret: with upstream_auth scopegate checks/,
  ],
  [
    'none with upstream credentials',
    { client_id: 'a', token_endpoint_auth_method: 'none', upstream_auth: UPSTREAM_SECRET },
    /upstream_auth: a public client authenticates with nothing/,
  ],
  [
    'keys without a method',
    { client_id: 'a', jwks: { keys: [PUBLIC_JWK] } },
    /clients\[0\]\.jwks: needs token_endpoint_auth_method/,
  ],
  [
    'a method on a rule for one audience',
    {
      client_id: 'a',
      audience: 'https://api',
      token_endpoint_auth_method: 'none',
    },
    /cannot depend on the audience/,
  ],
  [
    'upstream private_key_jwt without key_file and alg',
    {
      client_id: 'a',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [PUBLIC_JWK] },
      upstream_auth: { method: 'private_key_jwt' },
    },
    /upstream_auth\.key_file: private_key_jwt needs key_file/,
  ],
  [
    'an upstream secret without its value',
    {
      client_id: 'a',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [PUBLIC_JWK] },
      upstream_auth: { method: 'client_secret_post' },
    },
    /exactly one of client_secret or client_secret_file/,
  ],
];

describe('client authentication settings that cannot work', () => {
  it.each(REFUSED)('refuses %s', (_name, client, expected) => {
    const errors = errorsFor(client);
    expect(errors.join('\n')).toMatch(expected);
  });

  it('refuses two rules that both say how one client authenticates', () => {
    const result = parseConfigText(
      withClients([
        { client_id: 'a', token_endpoint_auth_method: 'none' },
        { client_id: 'a', token_endpoint_auth_method: 'client_secret_basic' },
      ]),
      'cfg.yaml',
      {},
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.join('\n')).toMatch(/already says how it authenticates/);
  });
});

describe('client authentication settings that work', () => {
  it.each([
    [
      'private_key_jwt with inline keys and an upstream secret',
      {
        client_id: 'a',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [PUBLIC_JWK] },
        upstream_auth: UPSTREAM_SECRET,
      },
    ],
    [
      'private_key_jwt from a loopback jwks_uri, scopegate signing for the upstream',
      {
        client_id: 'a',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: 'http://127.0.0.1:8081/jwks',
        upstream_auth: { method: 'private_key_jwt', key_file: 'a.pem', alg: 'ES256' },
      },
    ],
    [
      'client_secret_jwt with the secret from a file',
      {
        client_id: 'a',
        token_endpoint_auth_method: 'client_secret_jwt',
        client_secret_file: 'a.secret',
        upstream_auth: { method: 'client_secret_post', client_secret_file: 'a.upstream' },
      },
    ],
    [
      'a pinned method the upstream checks',
      { client_id: 'a', token_endpoint_auth_method: 'client_secret_post' },
    ],
  ])('accepts %s', (_name, client) => {
    expect(errorsFor(client)).toEqual([]);
  });
});

describe('the upstream token and the authenticated client', () => {
  const request = (upstreamClientId: string) =>
    ({
      client: { clientId: 'a', upstreamClientId, method: 'private_key_jwt', verifiedHere: true },
    }) as unknown as TokenRequest;

  it('agree: nothing to say', () => {
    expect(() => requireAuthenticatedClient(request('a'), 'a')).not.toThrow();
  });

  it.each([['b'], [undefined]])('disagree (the token names %s): 502, no token', (named) => {
    try {
      requireAuthenticatedClient(request('a'), named);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(OAuthError);
      expect((error as OAuthError).status).toBe(502);
      expect((error as OAuthError).error).toBe('server_error');
    }
  });
});
