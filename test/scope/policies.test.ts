import { describe, expect, it } from 'vitest';
import type { ScopePolicyConfig } from '../../config/schema.js';
import { type ScopeContext, ScopePolicies } from '../../proxy/scope/policies.js';

const machine: ScopeContext = {
  clientId: 'partner-x',
  grantType: 'client_credentials',
  audience: ['https://api.example.com'],
  claims: { tenant_ids: ['t1', 't2'], org: 'acme', level: 3, flag: true, nested: { a: 'b' } },
};
const human: ScopeContext = { ...machine, grantType: 'authorization_code' };

function policies(...configs: ScopePolicyConfig[]): ScopePolicies {
  return new ScopePolicies(configs);
}

const ACCOUNTS: ScopePolicyConfig = {
  template: 'accounts.*.*',
  grant_types: ['client_credentials'],
  clients: ['partner-x'],
  params: [{ enum: ['read', 'list'] }, { pattern: '^[0-9]{1,12}$' }],
};

describe('policies', () => {
  it('allows a scope no policy governs', () => {
    const outcome = policies(ACCOUNTS).evaluate('reports.read', machine);
    expect(outcome).toEqual({ allowed: true, matches: [], detail: '' });
  });

  it('passes a scope that meets every rule, and says which rules it checked', () => {
    const outcome = policies(ACCOUNTS).evaluate('accounts.read.1234', machine);
    expect(outcome.allowed).toBe(true);
    expect(outcome.matches).toEqual([
      {
        template: 'accounts.*.*',
        params: ['read', '1234'],
        passed: true,
        checks: [
          { rule: 'grant_types [client_credentials]', passed: true, detail: '' },
          { rule: 'clients', passed: true, detail: '' },
          { rule: 'params[0].enum [read, list]', passed: true, detail: '' },
          { rule: 'params[1].pattern ^[0-9]{1,12}$', passed: true, detail: '' },
        ],
      },
    ]);
  });

  it.each([
    [
      'accounts.write.1234',
      machine,
      'params[0].enum [read, list]: "write" is not one of the values',
    ],
    ['accounts.read.12x', machine, 'params[1].pattern ^[0-9]{1,12}$: "12x" does not match'],
    ['accounts.read.1.2', machine, 'params[1].pattern ^[0-9]{1,12}$: "1.2" does not match'],
    [
      'accounts.read.1234',
      human,
      'grant_types [client_credentials]: grant type authorization_code',
    ],
    [
      'accounts.read.1234',
      { ...machine, clientId: 'other' },
      'clients: client other is not allowed',
    ],
    ['accounts.read.1234', { ...machine, clientId: undefined }, 'clients: client (unknown)'],
  ])('refuses %s when a rule fails', (scope, context, message) => {
    const outcome = policies(ACCOUNTS).evaluate(scope, context);
    expect(outcome.allowed).toBe(false);
    expect(outcome.detail).toContain(`policy accounts.*.*: ${message}`);
  });

  it('refuses a parameter too long to run a pattern on', () => {
    const outcome = policies(ACCOUNTS).evaluate(`accounts.read.${'1'.repeat(300)}`, machine);
    expect(outcome.detail).toContain('longer than 256 characters');
  });

  describe('claim validators', () => {
    const tenants = policies({ template: 'tenants.*', params: [{ claim: 'tenant_ids' }] });
    it.each([
      ['tenants.t1', 'tenant_ids', true],
      ['tenants.t3', 'tenant_ids', false],
    ])('%s against an array claim', (scope, _claim, allowed) => {
      expect(tenants.evaluate(scope, machine).allowed).toBe(allowed);
    });

    it.each([
      ['org', 'orgs.acme', true],
      ['org', 'orgs.other', false],
      ['level', 'orgs.3', true],
      ['flag', 'orgs.true', false],
      ['nested', 'orgs.b', false],
      ['missing', 'orgs.x', false],
      ['constructor', 'orgs.constructor', false],
      ['__proto__', 'orgs.x', false],
    ])('claim %s on %s: %s', (claim, scope, allowed) => {
      const single = policies({ template: 'orgs.*', params: [{ claim }] });
      expect(single.evaluate(scope, machine).allowed).toBe(allowed);
    });
  });

  it('requires every matching entry to pass', () => {
    const both = policies(
      { template: 'accounts.*', grant_types: ['client_credentials'] },
      { template: 'accounts.*.*', params: [{ enum: ['read'] }] },
    );
    expect(both.evaluate('accounts.read.1', machine).allowed).toBe(true);
    const refused = both.evaluate('accounts.read.1', human);
    expect(refused.allowed).toBe(false);
    expect(refused.matches.map((match) => [match.template, match.passed])).toEqual([
      ['accounts.*', false],
      ['accounts.*.*', true],
    ]);
    expect(both.evaluate('accounts.write.1', machine).allowed).toBe(false);
  });

  it('governs plain scopes, with `:` matched exactly', () => {
    const plain = policies({ template: 'read:claims', grant_types: ['authorization_code'] });
    expect(plain.evaluate('read:claims', machine).allowed).toBe(false);
    expect(plain.evaluate('read:claims', human).allowed).toBe(true);
    expect(plain.evaluate('read:claims.x', machine).allowed).toBe(true);
    expect(plain.evaluate('read:claim', machine).allowed).toBe(true);
  });

  it('applies a policy on `*` to every scope', () => {
    const all = policies({ template: '*', grant_types: ['client_credentials'] });
    expect(all.evaluate('anything.at.all', human).allowed).toBe(false);
    expect(all.evaluate('read:claims', machine).allowed).toBe(true);
  });

  describe('a requested template stands for every scope it matches', () => {
    const admin = policies({ template: 'accounts.admin.*', clients: ['ops'] });

    it('is governed by a policy on a narrower template it overlaps', () => {
      const outcome = admin.evaluate('accounts.*', machine);
      expect(outcome.allowed).toBe(false);
      expect(outcome.detail).toContain('policy accounts.admin.*: clients: client partner-x');
      expect(admin.evaluate('accounts.*', { ...machine, clientId: 'ops' }).allowed).toBe(true);
      expect(admin.evaluate('*', machine).allowed).toBe(false);
      expect(admin.evaluate('*.admin.x', machine).allowed).toBe(false);
    });

    it('is not governed by a policy it cannot overlap', () => {
      expect(admin.evaluate('accounts.read.*', machine).allowed).toBe(true);
      expect(admin.evaluate('accounts.*.x.*', machine).allowed).toBe(false);
      expect(admin.evaluate('reports.*', machine).allowed).toBe(true);
    });

    it('fails parameter validators it leaves open', () => {
      const outcome = policies(ACCOUNTS).evaluate('accounts.read.*', machine);
      expect(outcome.allowed).toBe(false);
      expect(outcome.matches[0]?.params).toEqual(['read', '*']);
      expect(outcome.detail).toContain('"*" is a wildcard, not a value');
      const broader = policies(ACCOUNTS).evaluate('accounts.*', machine);
      expect(broader.matches[0]?.params).toBeNull();
      expect(broader.detail).toContain('a template broader than this policy');
    });

    it('passes parameters it pins down', () => {
      const first = policies({ template: 'accounts.*.*', params: [{ enum: ['read'] }] });
      expect(first.evaluate('accounts.read.*', machine).allowed).toBe(true);
      expect(first.evaluate('accounts.write.*', machine).allowed).toBe(false);
    });

    it('treats a star inside a segment as a value that never validates', () => {
      const outcome = policies(ACCOUNTS).evaluate('accounts.read.12*', machine);
      expect(outcome.allowed).toBe(false);
      expect(outcome.detail).toContain('"12*" is a wildcard, not a value');
    });
  });

  it('keeps config order whatever the index does', () => {
    const ordered = policies(
      { template: '*.read' },
      { template: 'accounts.*' },
      { template: '*' },
      { template: 'accounts.read' },
    );
    expect(ordered.evaluate('accounts.read', machine).matches.map((m) => m.template)).toEqual([
      '*.read',
      'accounts.*',
      '*',
      'accounts.read',
    ]);
  });
});
