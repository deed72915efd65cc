/**
 * What discovery says about the profile (proxy/issued/profile-metadata.ts), case by case: only
 * what scopegate makes true itself, and nothing for clients the profile does not hold.
 */
import { describe, expect, it } from 'vitest';
import { withProfileMetadata } from '../../proxy/issued/profile-metadata.js';

const ISSUER = 'https://gw.example/tenant';
const UPSTREAM_PAR = 'https://gw.example/tenant/oauth/par';
const document = {
  issuer: ISSUER,
  response_types_supported: ['code', 'none'],
  response_modes_supported: ['query', 'fragment', 'form_post'],
  code_challenge_methods_supported: ['plain', 'S256'],
};

describe('discovery under the profile', () => {
  it('says nothing new without a profile', () => {
    expect(
      withProfileMetadata(document, { issuer: ISSUER, profile: undefined, anyProfile: false }),
    ).toEqual(document);
  });

  it("per client: keeps the upstream's PAR endpoint for the others, and requires nothing", () => {
    const result = withProfileMetadata(
      { ...document, pushed_authorization_request_endpoint: UPSTREAM_PAR },
      { issuer: ISSUER, profile: undefined, anyProfile: true },
    );
    expect(result.pushed_authorization_request_endpoint).toBe(UPSTREAM_PAR);
    expect(result).not.toHaveProperty('require_pushed_authorization_requests');
    expect(result.code_challenge_methods_supported).toEqual(['plain', 'S256']);
  });

  it("per client, an upstream without PAR: scopegate's endpoint", () => {
    const result = withProfileMetadata(document, {
      issuer: ISSUER,
      profile: undefined,
      anyProfile: true,
    });
    expect(result.pushed_authorization_request_endpoint).toBe(`${ISSUER}/par`);
  });

  it("for every client: scopegate's PAR required, iss in responses, S256 and code only", () => {
    const result = withProfileMetadata(
      { ...document, pushed_authorization_request_endpoint: UPSTREAM_PAR },
      { issuer: ISSUER, profile: 'fapi2', anyProfile: true },
    );
    expect(result).toMatchObject({
      pushed_authorization_request_endpoint: `${ISSUER}/par`,
      require_pushed_authorization_requests: true,
      authorization_response_iss_parameter_supported: true,
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
      response_modes_supported: ['query', 'fragment'],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
    });
  });

  it('for every client: the mutual TLS methods scopegate verifies stay, the rest go', () => {
    const result = withProfileMetadata(
      {
        ...document,
        token_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'tls_client_auth',
          'self_signed_tls_client_auth',
          'client_secret_jwt',
        ],
      },
      { issuer: ISSUER, profile: 'fapi2', anyProfile: true },
    );
    expect(result.token_endpoint_auth_methods_supported).toEqual([
      'private_key_jwt',
      'tls_client_auth',
      'self_signed_tls_client_auth',
    ]);
  });
});
