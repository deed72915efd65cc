import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load.js';
import { errorsOf, MINIMAL } from './minimal-config.js';

describe('config validation', () => {
  it('accepts the minimal config and applies documented defaults', () => {
    const result = parseConfigText(MINIMAL, 'cfg.yaml', {});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { config } = result;
    // No token_path default: it comes from the upstream's discovery document at start-up.
    expect(config.upstream.token_path).toBeUndefined();
    expect(config.upstream).toMatchObject({
      scope_request: 'forward',
      timeout: 5000,
      algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    });
    expect(config.tokens).toMatchObject({
      max_lifetime: 3_600_000,
      on_unauthorized_scope: 'reject',
      scope_format: 'string',
    });
    expect(config.signing.keys[0]?.status).toBe('active');
    expect(config.clients).toEqual([]);
    expect(config.scopes).toEqual([]);
  });

  it('reports every error at once, each with its line and path', () => {
    const text = `listen: "nowhere"
issuer: "not a url"
upstream:
  url: "https://tenant.example.com"
  timeout: "5 seconds"
  scope_request: sometimes
  colour: blue
signing:
  keys:
    - kid: "k1"
      alg: HS256
      private_key_file: "k1.pem"
tokens:
  on_unauthorized_scope: ignore
`;
    expect(errorsOf(text)).toEqual([
      'cfg.yaml:1: listen: expected host:port, e.g. 127.0.0.1:8080 or [::1]:8080',
      'cfg.yaml:2: issuer: expected an http(s) URL',
      'cfg.yaml:5: upstream.timeout: invalid duration (use e.g. 500ms, 5s, 10m, 1h, 1h30m)',
      'cfg.yaml:6: upstream.scope_request: must be one of: forward, omit, templates',
      'cfg.yaml:7: upstream.colour: unknown key',
      'cfg.yaml:11: signing.keys[0].alg: must be one of: ES256, ES384, ES512, RS256, RS384, RS512, PS256, PS384, PS512, EdDSA',
      'cfg.yaml:14: tokens.on_unauthorized_scope: must be one of: reject, drop',
    ]);
  });

  it.each([
    ['a missing section', MINIMAL.replace(/upstream:\n {2}url: .*\n/, ''), 'upstream: is required'],
    [
      'two active keys of one algorithm',
      `${MINIMAL}    - kid: "k2"\n      alg: ES256\n      private_key_file: "k2.pem"\n`,
      'signing.keys[1].status: a second active ES256 key',
    ],
    [
      'a duplicate kid',
      `${MINIMAL}    - kid: "k1"\n      alg: ES256\n      private_key_file: "k2.pem"\n      status: next\n`,
      'signing.keys[1].kid: duplicate kid "k1"',
    ],
    [
      'both key sources',
      MINIMAL.replace(
        'private_key_file: "k1.pem"',
        'private_key_file: "k1.pem"\n      private_key: "x"',
      ),
      'signing.keys[0]: exactly one of private_key_file or private_key is required',
    ],
    [
      'publish_until on an active key',
      MINIMAL.replace('alg: ES256', 'alg: ES256\n      publish_until: "2027-01-01T00:00:00Z"'),
      'signing.keys[0].publish_until: publish_until applies to retired keys only',
    ],
    [
      'a * inside a segment',
      `${MINIMAL}scopes:\n  - template: "acc*.read"\n`,
      'scopes[0].template: a * must be a whole segment (accounts.* not acc*)',
    ],
    [
      'an empty template segment',
      `${MINIMAL}scopes:\n  - template: "accounts..read"\n`,
      'scopes[0].template: a template must not have empty segments (leading, trailing or repeated dots)',
    ],
    [
      'an unknown validator',
      `${MINIMAL}scopes:\n  - template: "accounts.*"\n    params:\n      - regex: "x"\n`,
      'scopes[0].params[0].regex: unknown key',
    ],
    [
      'an unknown grant type',
      `${MINIMAL}scopes:\n  - template: "accounts.*"\n    grant_types: [implicit]\n`,
      'scopes[0].grant_types[0]: must be one of: client_credentials',
    ],
    [
      'a catastrophic pattern',
      `${MINIMAL}scopes:\n  - template: "accounts.*"\n    params:\n      - pattern: "(a+)+"\n`,
      'scopes[0].params[0].pattern: nested quantifiers',
    ],
    [
      'more validators than wildcards',
      `${MINIMAL}scopes:\n  - template: "accounts.*"\n    params:\n      - enum: [a]\n      - enum: [b]\n`,
      'scopes[0].params: 2 validators for a template with 1 parameter(s)',
    ],
  ])('rejects %s', (_name, text, expected) => {
    const errors = errorsOf(text);
    expect(errors.some((error) => error.includes(expected))).toBe(true);
  });

  it('interpolates ${ENV} and ${ENV:-default}, and names unset variables', () => {
    const text = MINIMAL.replace('https://tenant.example.com', '${UPSTREAM}').replace(
      '127.0.0.1:8080',
      '${LISTEN:-0.0.0.0:9000}',
    );
    const ok = parseConfigText(text, 'cfg.yaml', { UPSTREAM: 'https://idp.example.org' });
    expect(ok.ok && ok.config.upstream.url).toBe('https://idp.example.org');
    expect(ok.ok && ok.config.listen).toBe('0.0.0.0:9000');
    expect(errorsOf(text)).toEqual(['cfg.yaml:4: environment variable UPSTREAM is not set']);
    const escaped = parseConfigText(
      `${MINIMAL}scopes:\n  - template: "a"\n    params: []\n`.replace(
        'k1.pem',
        () => '$${literal}.pem',
      ),
      'cfg.yaml',
      {},
    );
    expect(escaped.ok && escaped.config.signing.keys[0]?.private_key_file).toBe('${literal}.pem');
  });

  it('reports YAML syntax errors with their line', () => {
    const errors = errorsOf('listen: "a\nissuer: [\n');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatch(/^cfg\.yaml:\d+: /);
  });

  it('rejects duplicate keys in the YAML', () => {
    const errors = errorsOf(`${MINIMAL}listen: "127.0.0.1:9"\n`);
    expect(errors[0]).toMatch(/^cfg\.yaml:\d+: Map keys must be unique/);
  });

  it('parses durations in every unit', () => {
    const text = `${MINIMAL}tokens:\n  max_lifetime: "1h30m"\n  clock_tolerance: "250ms"\nserver:\n  shutdown_grace: "2d"\n`;
    const result = parseConfigText(text, 'cfg.yaml', {});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.tokens.max_lifetime).toBe(5_400_000);
    expect(result.config.tokens.clock_tolerance).toBe(250);
    expect(result.config.server.shutdown_grace).toBe(172_800_000);
  });
});

describe('discovery.keep_fields', () => {
  const withKeep = (fields: string) => `${MINIMAL}discovery:\n  keep_fields: ${fields}\n`;

  it('keeps vendor fields by name', () => {
    const result = parseConfigText(withKeep('[tenant_region, vendor_portal]'), 'cfg.yaml', {});
    expect(result.ok && result.config.discovery.keep_fields).toEqual([
      'tenant_region',
      'vendor_portal',
    ]);
  });

  it.each([
    ['access_token_signing_alg_values_supported', /owns access_token_signing_alg_values_supported/],
    ['issuer', /owns issuer/],
    ['mtls_endpoint_aliases', /drops mtls_endpoint_aliases/],
    ['userinfo_signing_alg_values_supported', /drops userinfo_signing_alg_values_supported/],
    ['response_types_supported', /rewrites response_types_supported/],
    ['authorization_endpoint', /rewrites authorization_endpoint/],
    ['scopes_supported', /already kept/],
    ['__proto__', /expected a discovery field name/],
    ['"a b"', /expected a discovery field name/],
  ])('refuses %s, naming its path', (field, message) => {
    const errors = errorsOf(withKeep(`[${field}]`));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/discovery\.keep_fields\[0\]: /);
    expect(errors[0]).toMatch(message);
  });
});
