import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load.js';
import { ScopePolicies } from '../../proxy/scope/policies.js';

const BASE = `issuer: https://gateway.example
upstream:
  url: https://idp.example
signing:
  keys:
    - kid: k1
      alg: ES256
      private_key: not-read-by-the-schema
`;

function errorsOf(scopes: string): string[] {
  const result = parseConfigText(`${BASE}scopes:\n${scopes}`, 'scopegate.yaml', {});
  return result.ok ? [] : result.errors;
}

describe('scopes: validated when the config loads', () => {
  it('accepts the design example and compiles it once', () => {
    const result = parseConfigText(
      `${BASE}scopes:
  - template: "accounts.*.*"
    grant_types: [client_credentials]
    clients: ["partner-x"]
    params:
      - enum: [read, list]
      - pattern: "^[0-9]{1,12}$"
  - template: "tenants.*"
    params:
      - claim: tenant_ids
  - template: "read:claims"
    grant_types: [authorization_code]
`,
      'scopegate.yaml',
      {},
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const policies = new ScopePolicies(result.config.scopes);
    expect(policies.size).toBe(3);
    expect(policies.templates.map((template) => template.source)).toEqual([
      'accounts.*.*',
      'tenants.*',
      'read:claims',
    ]);
    expect(policies.claimsRead).toEqual(['tenant_ids']);
  });

  it.each([
    ['acc*', 'scopes[0].template: a * must be a whole segment'],
    ['accounts..read', 'scopes[0].template: a template must not have empty segments'],
    ['.accounts', 'scopes[0].template: a template must not have empty segments'],
    ['accounts.', 'scopes[0].template: a template must not have empty segments'],
    [' accounts.*', 'scopes[0].template: a template must not contain whitespace'],
    ['accounts.* read', 'scopes[0].template: a template must not contain whitespace'],
    ['', 'scopes[0].template: a template must not be empty'],
  ])('refuses the template %j with a clear error', (template, message) => {
    const errors = errorsOf(`  - template: ${JSON.stringify(template)}\n`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(message);
    expect(errors[0]).toMatch(/^scopegate\.yaml:10: /);
  });

  it('refuses an unknown validator instead of ignoring it', () => {
    const errors = errorsOf(`  - template: "accounts.*"
    params:
      - regex: "[0-9]+"
`);
    expect(errors).toContain('scopegate.yaml:12: scopes[0].params[0].regex: unknown key');
    expect(errors.join('\n')).toContain('a validator needs enum, pattern or claim');
  });

  it('refuses an unknown rule on an entry', () => {
    const errors = errorsOf(`  - template: "accounts.*"
    audiences: [x]
`);
    expect(errors).toEqual(['scopegate.yaml:11: scopes[0].audiences: unknown key']);
  });

  it('refuses an unknown grant type instead of never matching it', () => {
    const errors = errorsOf(`  - template: "accounts.*"
    grant_types: [client_credentials, implicit]
`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^scopegate\.yaml:11: scopes\[0\]\.grant_types\[1\]: must be one of: client_credentials, /,
    );
  });

  it('refuses empty allow-lists (they would refuse everything by accident)', () => {
    const errors = errorsOf(`  - template: "accounts.*"
    grant_types: []
    clients: []
`);
    expect(errors.join('\n')).toContain('scopes[0].grant_types: must list at least one entry');
    expect(errors.join('\n')).toContain('scopes[0].clients: must list at least one entry');
  });

  it('refuses unsafe and invalid patterns', () => {
    const errors = errorsOf(`  - template: "accounts.*.*"
    params:
      - pattern: "(a+)+"
      - pattern: "[0-9"
`);
    expect(errors[0]).toMatch(/scopes\[0\]\.params\[0\]\.pattern: nested quantifiers/);
    expect(errors[1]).toMatch(/scopes\[0\]\.params\[1\]\.pattern: invalid regular expression/);
  });

  it('refuses more validators than the template has parameters', () => {
    const errors = errorsOf(`  - template: "read:claims"
    params:
      - enum: [x]
`);
    expect(errors).toEqual([
      'scopegate.yaml:12: scopes[0].params: 1 validators for a template with 0 parameter(s)',
    ]);
  });

  it('refuses validators with nothing to check and enum values no parameter can have', () => {
    const errors = errorsOf(`  - template: "accounts.*"
    params:
      - {}
  - template: "reports.*"
    params:
      - enum: ["*", "", "a b"]
  - template: "tenants.*"
    params:
      - claim: ""
`);
    expect(errors.join('\n')).toContain(
      'scopes[0].params[0]: a validator needs enum, pattern or claim',
    );
    expect(errors.filter((line) => line.includes('scopes[1].params[0].enum['))).toHaveLength(3);
    expect(errors.join('\n')).toContain('scopes[2].params[0].claim: must not be empty');
  });

  it('reports every problem at once', () => {
    const errors = errorsOf(`  - template: "acc*"
  - template: "accounts.*"
    grant_types: [nope]
    params:
      - pattern: "(a|a)*"
`);
    expect(errors).toHaveLength(3);
  });
});
