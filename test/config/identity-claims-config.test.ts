/**
 * tokens.identity_claims: custom claims the ID token and userinfo carry by issued scope. An
 * authorization claim (the product's one list, tokens.authorization_claims included whatever its
 * verdict) or a protocol claim is a config error that `check` reports with its path.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load.js';
import { errorsOf, MINIMAL } from './minimal-config.js';

describe('tokens.identity_claims', () => {
  it('defaults to none and accepts custom claims by scope', () => {
    const none = parseConfigText(MINIMAL, 'cfg.yaml', {});
    expect(none.ok && none.config.tokens.identity_claims).toEqual({});
    const text = `${MINIMAL}tokens:\n  identity_claims:\n    openid: [tenant]\n    "read:claims": [department, "https://example.com/org"]\n`;
    const result = parseConfigText(text, 'cfg.yaml', {});
    expect(result.ok && result.config.tokens.identity_claims).toEqual({
      openid: ['tenant'],
      'read:claims': ['department', 'https://example.com/org'],
    });
  });

  it('refuses authorization claims, configured ones too, and protocol claims', () => {
    const text = `${MINIMAL}tokens:
  authorization_claims:
    roles: keep
    tier: drop
  identity_claims:
    openid: [tenant, roles, tier, groups]
    profile: [scope, permissions, "cognito:groups"]
    email: [nonce, sub, sg_ut]
`;
    expect(errorsOf(text)).toEqual([
      'cfg.yaml:15: tokens.identity_claims.openid[1]: "roles" is an authorization claim: ID tokens and userinfo never carry one',
      'cfg.yaml:15: tokens.identity_claims.openid[2]: "tier" is an authorization claim: ID tokens and userinfo never carry one',
      'cfg.yaml:15: tokens.identity_claims.openid[3]: "groups" is an authorization claim: ID tokens and userinfo never carry one',
      'cfg.yaml:16: tokens.identity_claims.profile[0]: "scope" is an authorization claim: ID tokens and userinfo never carry one',
      'cfg.yaml:16: tokens.identity_claims.profile[1]: "permissions" is an authorization claim: ID tokens and userinfo never carry one',
      'cfg.yaml:16: tokens.identity_claims.profile[2]: "cognito:groups" is an authorization claim: ID tokens and userinfo never carry one',
      'cfg.yaml:17: tokens.identity_claims.email[0]: "nonce" is a protocol claim scopegate sets or drops itself',
      'cfg.yaml:17: tokens.identity_claims.email[1]: "sub" is a protocol claim scopegate sets or drops itself',
      'cfg.yaml:17: tokens.identity_claims.email[2]: "sg_ut" is a protocol claim scopegate sets or drops itself',
    ]);
  });

  it('refuses a key that is not one scope', () => {
    const text = `${MINIMAL}tokens:\n  identity_claims:\n    "openid email": [tenant]\n`;
    expect(errorsOf(text).join('\n')).toMatch(/tokens.identity_claims.openid email: invalid key/);
  });
});
