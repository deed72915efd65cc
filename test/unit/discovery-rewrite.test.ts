import { describe, expect, it } from 'vitest';
import { issuerUrl, rewriteDiscovery } from '../../proxy/upstream/discovery.js';

const UPSTREAM = {
  issuer: 'https://tenant.example.com/',
  token_endpoint: 'https://tenant.example.com/oauth/token',
  jwks_uri: 'https://tenant.example.com/.well-known/jwks.json',
  authorization_endpoint: 'https://tenant.example.com/authorize',
  grant_types_supported: ['client_credentials'],
};

describe('discovery rewrite', () => {
  it('points issuer, jwks_uri and token_endpoint at scopegate and keeps the rest', () => {
    expect(rewriteDiscovery(UPSTREAM, 'https://auth.example.com', '/oauth/token')).toEqual({
      ...UPSTREAM,
      issuer: 'https://auth.example.com',
      jwks_uri: 'https://auth.example.com/.well-known/jwks.json',
      token_endpoint: 'https://auth.example.com/oauth/token',
    });
  });

  it('drops the mTLS token endpoint alias, which would bypass scopegate', () => {
    const aliased = {
      ...UPSTREAM,
      mtls_endpoint_aliases: {
        token_endpoint: 'https://mtls.tenant.example.com/oauth/token',
        revocation_endpoint: 'https://mtls.tenant.example.com/oauth/revoke',
      },
    };
    const rewritten = rewriteDiscovery(aliased, 'https://auth.example.com', '/oauth/token');
    expect(rewritten.mtls_endpoint_aliases).toEqual({
      revocation_endpoint: 'https://mtls.tenant.example.com/oauth/revoke',
    });
    const onlyToken = rewriteDiscovery(
      { ...UPSTREAM, mtls_endpoint_aliases: { token_endpoint: 'https://mtls.example/t' } },
      'https://auth.example.com',
      '/oauth/token',
    );
    expect(onlyToken).not.toHaveProperty('mtls_endpoint_aliases');
  });

  it.each([
    ['https://auth.example.com', '/x', 'https://auth.example.com/x'],
    ['https://auth.example.com/', '/x', 'https://auth.example.com/x'],
    ['https://example.com/tenant/', '/oauth/token', 'https://example.com/tenant/oauth/token'],
  ])('joins %s and %s', (issuer, path, expected) => {
    expect(issuerUrl(issuer, path)).toBe(expected);
  });
});
